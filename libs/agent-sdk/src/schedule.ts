/**
 * Timing policy of a session, kept free of I/O so it can be unit tested.
 * All values are milliseconds.
 */

/** Upper bound of the fail-closed safety margin. */
export const MAX_SAFETY_MARGIN_MS = 1_000;
/** Fraction of the TTL used as safety margin on short leases. */
export const SAFETY_MARGIN_RATIO = 0.1;
/** Floor of the retry delay, so an outage does not turn into a request storm. */
export const MIN_RETRY_DELAY_MS = 200;
/** Upper bound of a single heartbeat request. */
export const MAX_REQUEST_TIMEOUT_MS = 5_000;
/** Floor of a single heartbeat request, so tiny TTLs do not make every request time out. */
export const MIN_REQUEST_TIMEOUT_MS = 100;

/**
 * Time left on a lease, from the agent's point of view.
 *
 * `serverDateMs` is the HTTP `Date` header of the renewal response. It is only
 * second-precise and lags the server's real clock, so `expiresAt - serverDate`
 * can only overestimate the true remaining time. Taking the minimum therefore
 * never lengthens the lease, but it does catch a local clock that runs behind
 * the server by more than a second, which would otherwise let the agent keep
 * running after the server considers the lease dead.
 */
export function remainingLeaseMs(
  expiresAtMs: number,
  localNowMs: number,
  serverDateMs?: number,
): number {
  const byLocalClock = expiresAtMs - localNowMs;
  if (serverDateMs === undefined || !Number.isFinite(serverDateMs)) {
    return byLocalClock;
  }
  return Math.min(byLocalClock, expiresAtMs - serverDateMs);
}

/** Margin kept between the fail-closed abort and the lease expiry. */
export function safetyMarginMs(ttlMs: number): number {
  if (ttlMs <= 0) {
    return 0;
  }
  return Math.min(MAX_SAFETY_MARGIN_MS, ttlMs * SAFETY_MARGIN_RATIO);
}

/**
 * Delay after a successful renewal at which the session aborts unless another
 * renewal succeeds first. Zero or less means the lease is already unusable.
 */
export function failClosedDelayMs(remainingMs: number): number {
  return remainingMs - safetyMarginMs(remainingMs);
}

/**
 * Delay until the next regular heartbeat.
 *
 * A configured interval is capped at half the TTL: with a longer interval the
 * first renewal attempt could land after the fail-closed deadline and a
 * healthy agent would be stopped for no reason.
 */
export function heartbeatDelayMs(ttlMs: number, configuredIntervalMs?: number): number {
  const ttl = Math.max(0, ttlMs);
  if (configuredIntervalMs === undefined) {
    return ttl / 3;
  }
  return Math.min(configuredIntervalMs, ttl / 2);
}

/** Delay before retrying a heartbeat that failed for a transient reason. */
export function retryDelayMs(ttlMs: number): number {
  return Math.max(MIN_RETRY_DELAY_MS, ttlMs / 10);
}

/**
 * Timeout of one heartbeat request. Bounded by a third of the TTL so a hung
 * request cannot use up the whole window in which retries are still useful.
 * Whole milliseconds, because `AbortSignal.timeout` rejects fractions.
 */
export function requestTimeoutMs(ttlMs: number): number {
  return Math.round(Math.max(MIN_REQUEST_TIMEOUT_MS, Math.min(MAX_REQUEST_TIMEOUT_MS, ttlMs / 3)));
}
