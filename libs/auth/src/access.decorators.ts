import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Principal } from './principal';
import type { Role } from './roles';

export const ACCESS_METADATA = 'killswitch:access';

/** What a route demands. Routes that declare nothing are refused: default deny. */
export type AccessPolicy =
  | { type: 'public' }
  | { type: 'role'; minimum: Role }
  | { type: 'lease' }
  | { type: 'device' }
  | { type: 'role-or-lease'; minimum: Role };

/** Open to anyone (health, docs). */
export const Public = () => SetMetadata(ACCESS_METADATA, { type: 'public' } satisfies AccessPolicy);

/** Needs an API key of at least this role. */
export const MinRole = (minimum: Role) =>
  SetMetadata(ACCESS_METADATA, { type: 'role', minimum } satisfies AccessPolicy);

/** Needs a live lease token (agent runtimes). */
export const LeaseAuth = () =>
  SetMetadata(ACCESS_METADATA, { type: 'lease' } satisfies AccessPolicy);

/** Needs a paired device's token (phones talking to the relay). */
export const DeviceAuth = () =>
  SetMetadata(ACCESS_METADATA, { type: 'device' } satisfies AccessPolicy);

/** Needs either an API key of at least this role or a live lease token. */
export const MinRoleOrLease = (minimum: Role) =>
  SetMetadata(ACCESS_METADATA, { type: 'role-or-lease', minimum } satisfies AccessPolicy);

export interface RequestWithPrincipal {
  principal?: Principal;
  /** The paired device a `@DeviceAuth()` request came from. */
  device?: { id: string; name: string };
  headers: Record<string, string | string[] | undefined>;
}

/** The authenticated caller, set by the guard. */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => {
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    if (!request.principal) {
      // The guard always sets it for non-public routes; reaching here is a wiring mistake.
      throw new Error('CurrentPrincipal used on a route without authentication');
    }
    return request.principal;
  },
);
