import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
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
    this.refuseBodyWhereNoneIsTaken(context, (request as { body?: unknown }).body);
    return true;
  }

  /** Whether each handler reads a body at all (`@Body()`), learned once per handler. */
  private readonly takesBody = new WeakMap<object, boolean>();

  /**
   * A route that takes no body ignores one, so `{"ttl": 99999}` on a pairing code would pass
   * for a setting that took effect. Such a body is refused as any unknown field is; an empty
   * object (what many clients send by default) is fine.
   */
  private refuseBodyWhereNoneIsTaken(context: ExecutionContext, body: unknown): void {
    if (body === undefined || body === null) {
      return;
    }
    const handler = context.getHandler();
    let takes = this.takesBody.get(handler);
    if (takes === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ??
        {}) as Record<string, unknown>;
      takes = Object.keys(args).some((key) => key.split(':')[0] === String(RouteParamtypes.BODY));
      this.takesBody.set(handler, takes);
    }
    if (takes) {
      return;
    }
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new DomainError('bad_request', 'This route takes no body; send none (or {})');
    }
    const fields = Object.keys(body);
    if (fields.length > 0) {
      throw new DomainError(
        'bad_request',
        `This route takes no body: ${fields.map((f) => `property ${f} should not exist`).join('; ')}`,
      );
    }
  }

  /** Sets the request's principal (and device), or throws 401 or 403. */
  private async authenticate(
    request: RequestWithPrincipal,
    policy: Exclude<AccessPolicy, { type: 'public' }>,
  ): Promise<void> {
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      throw unauthenticated(
        request.headers.authorization
          ? 'Credentials not understood: send exactly "Authorization: Bearer <key>"'
          : 'Missing credentials: send "Authorization: Bearer <key>"',
      );
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
    return {
      kind: 'user' as const,
      userId: user.id,
      name: user.name,
      role: user.role,
      via: clientName(request.headers['x-killswitch-client']),
    };
  }
}

/**
 * Which interface a call came through, for the incident timeline: what the client names itself
 * in `X-Killswitch-Client` (the CLI says `cli`), else `api`. `device` is the relay's, which
 * fences in its own process: an API caller claiming it would put a phone on the record.
 */
function clientName(header: string | string[] | undefined): string {
  if (header === undefined) {
    return 'api';
  }
  if (typeof header !== 'string' || !/^[a-z0-9-]{1,32}$/.test(header)) {
    throw new DomainError(
      'bad_request',
      'X-Killswitch-Client must be 1 to 32 lowercase letters, digits or "-", such as "cli"',
    );
  }
  if (header === 'device') {
    throw new DomainError(
      'bad_request',
      'X-Killswitch-Client: device is for stops from paired phones, through the mobile relay',
    );
  }
  return header;
}
