import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrors, REDIS_UNAVAILABLE } from '@app/core';

/** The OpenAPI security schemes (see bootstrap.ts): both are opaque bearer tokens, not JWTs. */
export const API_KEY_SCHEME = 'api-key';
export const LEASE_TOKEN_SCHEME = 'lease-token';

/** What every route behind the guard may answer, whatever it does. */
export const COMMON_ERRORS = {
  400:
    'Malformed input, the message says which: a path id, a query parameter or a body field; ' +
    'a body or query string the route does not read; an X-Killswitch-Client header that is ' +
    'not 1 to 32 lowercase letters, digits or "-"',
  503: REDIS_UNAVAILABLE,
} as const;

/** The 403 of an admins-only route. */
export const NOT_ADMIN = "Not an admin's API key";

/** The 404 of a route whose path names a user. */
export const NO_USER = 'No user has this id';

/** A route for people and services: `Authorization: Bearer ksk_…`. */
export const ApiKeyAuth = () =>
  applyDecorators(
    ApiBearerAuth(API_KEY_SCHEME),
    ApiErrors({ 401: 'No API key, or an unknown, malformed or revoked one (or a lease token)' }),
  );

/** A route for agent runtimes: `Authorization: Bearer ksl_…`. */
export const LeaseTokenAuth = () =>
  applyDecorators(
    ApiBearerAuth(LEASE_TOKEN_SCHEME),
    ApiErrors({
      401:
        'No lease token, or one that is not live: `status` says revoked (with reason, ' +
        'revokedAt and incidentId), expired (with expiredAt) or invalid',
    }),
  );

/** A route that takes either (an agent reading its own records, or a person). */
export const ApiKeyOrLeaseTokenAuth = () =>
  applyDecorators(
    ApiBearerAuth(API_KEY_SCHEME),
    ApiBearerAuth(LEASE_TOKEN_SCHEME),
    ApiErrors({
      401:
        'No credentials, an unknown or revoked API key, or a lease token that is not live ' +
        '(then `status` says revoked, expired or invalid)',
    }),
  );
