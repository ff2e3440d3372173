import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import {
  badRequest,
  DomainError,
  forbidden,
  refuseUnsupportedBody,
  unauthenticated,
} from '@app/core';
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
    this.refuseWhatTheRouteIgnores(context, request as IncomingParts, policy.type !== 'public');
    return true;
  }

  /** What each handler reads of a request, learned once per handler. */
  private readonly reads = new WeakMap<object, { body: boolean; query: boolean }>();

  /**
   * A route ignores a body or query string it does not read, so `{"ttl": 99999}` on a pairing
   * code, or `?limit=5` on a list that has no pages, would pass for a setting that took effect.
   * They are refused as any unknown field is. An empty `{}` body is fine (many clients send one),
   * and so is a query string on a public route (the phone page's address may carry one).
   */
  private refuseWhatTheRouteIgnores(
    context: ExecutionContext,
    { body, query }: IncomingParts,
    queries: boolean,
  ): void {
    const reads = this.readsOf(context);
    // Bodies are objects by now: the JSON parser refuses anything else.
    if (!reads.body && typeof body === 'object' && body !== null) {
      const fields = Object.keys(body);
      if (fields.length > 0) {
        throw badRequest(`This route takes no body: ${unknown(fields)}`);
      }
    }
    const parameters = Object.keys(query ?? {});
    if (!reads.query && queries && parameters.length > 0) {
      throw badRequest(`This route takes no query parameters: ${unknown(parameters)}`);
    }
  }

  private readsOf(context: ExecutionContext): { body: boolean; query: boolean } {
    const handler = context.getHandler();
    let reads = this.reads.get(handler);
    if (!reads) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ??
        {}) as Record<string, unknown>;
      const kinds = new Set(Object.keys(args).map((key) => Number(key.split(':')[0])));
      // A handler given the whole request may read anything from it.
      const whole = kinds.has(RouteParamtypes.REQUEST);
      reads = {
        body: whole || kinds.has(RouteParamtypes.BODY),
        query: whole || kinds.has(RouteParamtypes.QUERY),
      };
      this.reads.set(handler, reads);
    }
    return reads;
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
interface IncomingParts {
  body?: unknown;
  query?: Record<string, unknown>;
}

const unknown = (names: string[]) =>
  names.map((name) => `property ${name} should not exist`).join('; ');

function clientName(header: string | string[] | undefined): string {
  if (header === undefined) {
    return 'api';
  }
  if (typeof header !== 'string' || !/^[a-z0-9-]{1,32}$/.test(header)) {
    throw badRequest(
      'X-Killswitch-Client must be 1 to 32 lowercase letters, digits or "-", such as "cli"',
    );
  }
  if (header === 'device') {
    throw badRequest(
      'X-Killswitch-Client: device is for stops from paired phones, through the mobile relay',
    );
  }
  return header;
}
