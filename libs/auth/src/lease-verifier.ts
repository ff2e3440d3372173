import type { AgentPrincipal } from './principal';

/**
 * Verifies lease tokens for routes marked `@LeaseAuth()`. Provided by the leases context; the
 * auth guard only knows this interface so auth does not depend on leases.
 */
export interface LeaseVerifier {
  /** Resolves a live lease, or throws the DomainError that says why it is not live. */
  verify(token: string): Promise<AgentPrincipal>;
}

export const LEASE_VERIFIER = Symbol('LEASE_VERIFIER');
