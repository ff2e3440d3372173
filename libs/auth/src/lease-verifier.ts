import type { AgentPrincipal, UserPrincipal } from './principal';

/**
 * Verifies lease tokens for routes marked `@LeaseAuth()`. Provided by the leases context; the
 * auth guard only knows this interface so auth does not depend on leases.
 */
export interface LeaseVerifier {
  /** Resolves a live lease, or throws the DomainError that says why it is not live. */
  verify(token: string): Promise<AgentPrincipal>;
}

export const LEASE_VERIFIER = Symbol('LEASE_VERIFIER');

/** Verifies device tokens for routes marked `@DeviceAuth()`; provided by the devices context. */
export interface DeviceVerifier {
  /** Resolves a live device and its user, or undefined. */
  authenticate(
    token: string,
  ): Promise<{ principal: UserPrincipal; device: { id: string; name: string } } | undefined>;
}

export const DEVICE_VERIFIER = Symbol('DEVICE_VERIFIER');
