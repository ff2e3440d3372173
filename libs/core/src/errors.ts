/**
 * Every failure a service may report on purpose. Each code maps to exactly one HTTP status in
 * `httpStatusOf` below; the map is exhaustive, so adding a code without a status fails to compile.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'lease_revoked'
  | 'lease_expired'
  | 'lease_invalid'
  | 'unavailable';

export const httpStatusOf: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  lease_revoked: 401,
  lease_expired: 401,
  lease_invalid: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
};

/**
 * A failure the caller can act on. Services throw these (never HTTP exceptions), so that HTTP
 * controllers, socket handlers and workers share the same code.
 *
 * @param details - extra fields merged into the JSON body (for example `{status: "revoked"}`).
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Millisecond-precise ISO time from epoch milliseconds. */
export const isoMs = (ms: number) => new Date(ms).toISOString();

export const badRequest = (message: string) => new DomainError('bad_request', message);
export const unauthenticated = (message = 'A valid API key is required') =>
  new DomainError('unauthenticated', message);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const conflict = (message: string) => new DomainError('conflict', message);
export const unavailable = (message: string) => new DomainError('unavailable', message);
