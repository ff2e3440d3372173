import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError, forbidden, refuseUnsupportedBody, unauthenticated } from '@app/core';
import { ACCESS_METADATA, AccessPolicy, RequestWithPrincipal } from './access.decorators';
import { DEVICE_VERIFIER, DeviceVerifier, LEASE_VERIFIER, LeaseVerifier } from './lease-verifier';
import { Role, roleAtLeast } from './roles';
import { bearerToken, mistakenCredential } from './secrets';
import { UsersService } from './users.service';

/**
 * The global guard. Every route must declare an {@link AccessPolicy}; one that does not is
 * refused for everybody, so a forgotten decorator fails closed rather than open.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersService,
    @Optional() @Inject(LEASE_VERIFIER) private readonly leases?: LeaseVerifier,
    @Optional() @Inject(DEVICE_VERIFIER) private readonly devices?: DeviceVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const policy = this.reflector.getAllAndOverride<AccessPolicy | undefined>(ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!policy) {
      throw forbidden('This route declares no access policy and is closed');
    }
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    if (policy.type !== 'public') {
      await this.authenticate(request, policy);
    }
    // Only once the caller is known: one without valid credentials hears that first.
    refuseUnsupportedBody(request);
    return true;
  }

  /** Sets the request's principal (and device), or throws 401 or 403. */
  private async authenticate(
    request: RequestWithPrincipal,
    policy: Exclude<AccessPolicy, { type: 'public' }>,
  ): Promise<void> {
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      throw unauthenticated('Missing credentials: send "Authorization: Bearer <key>"');
    }
    switch (policy.type) {
      case 'lease':
        request.principal = await this.verifyLease(token);
        return;
      case 'device': {
        const device = this.devices ? await this.devices.authenticate(token) : undefined;
        if (!device) {
          throw unauthenticated(
            mistakenCredential(token, 'ksd_') ??
              'Unknown or revoked device: pair this device again',
          );
        }
        request.principal = device.principal;
        request.device = device.device;
        return;
      }
      case 'role':
        request.principal = await this.verifyKey(token, request, policy.minimum);
        return;
      case 'role-or-lease':
        request.principal = token.startsWith('ksl_')
          ? await this.verifyLease(token)
          : await this.verifyKey(token, request, policy.minimum);
        return;
      default: {
        // A policy added without a case here fails to compile, and at run time is closed.
        const unknown: never = policy;
        throw forbidden(`Unknown access policy ${JSON.stringify(unknown)}: closed`);
      }
    }
  }

  private async verifyLease(token: string) {
    if (!this.leases) {
      throw new DomainError('lease_invalid', 'Lease tokens are not accepted here', {
        status: 'invalid',
      });
    }
    return this.leases.verify(token);
  }

  private async verifyKey(token: string, request: RequestWithPrincipal, minimum: Role) {
    const user = await this.users.authenticate(token);
    if (!user) {
      throw unauthenticated(mistakenCredential(token, 'ksk_') ?? 'Unknown or revoked API key');
    }
    if (!roleAtLeast(user.role, minimum)) {
      throw forbidden(`This needs the ${minimum} role or stronger; you are ${user.role}`);
    }
    const client = request.headers['x-killswitch-client'];
    const via = typeof client === 'string' && /^[a-z0-9-]{1,32}$/.test(client) ? client : 'api';
    return { kind: 'user' as const, userId: user.id, name: user.name, role: user.role, via };
  }
}
