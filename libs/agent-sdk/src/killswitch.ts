import {
  InvalidLeaseError,
  KillSwitchRevokedError,
  KillSwitchUnreachableError,
  LeaseExpiredError,
} from './errors';
import { safeLogger } from './logger';
import { resolveEndpoints, sendHeartbeat } from './protocol';
import { failClosedDelayMs, MAX_REQUEST_TIMEOUT_MS, remainingLeaseMs } from './schedule';
import { LeaseSession } from './session';
import type { FetchLike, KillSwitchConnectOptions, KillSwitchSession } from './types';

function validate(options: KillSwitchConnectOptions): FetchLike {
  if (typeof options.token !== 'string' || options.token.trim() === '') {
    throw new TypeError('Kill switch token must be a non-empty string');
  }
  const interval = options.heartbeatIntervalMs;
  if (interval !== undefined && (!Number.isFinite(interval) || interval <= 0)) {
    throw new TypeError('heartbeatIntervalMs must be a positive, finite number of milliseconds');
  }
  // Typed as present, but absent on runtimes older than Node 18.
  const fetchImpl: FetchLike | undefined = options.fetch ?? globalThis.fetch;
  if (fetchImpl === undefined) {
    throw new TypeError('No fetch implementation available: use Node 20+ or pass options.fetch');
  }
  return fetchImpl;
}

async function connect(options: KillSwitchConnectOptions): Promise<KillSwitchSession> {
  const fetchImpl = validate(options);
  const endpoints = resolveEndpoints(options.url);
  const logger = safeLogger(options.logger);

  const { outcome, serverDateMs } = await sendHeartbeat({
    fetch: fetchImpl,
    url: endpoints.heartbeatUrl,
    token: options.token,
    // The TTL is unknown until the first answer, so use the generous ceiling.
    timeoutMs: MAX_REQUEST_TIMEOUT_MS,
  });

  switch (outcome.kind) {
    case 'active': {
      const remainingMs = remainingLeaseMs(outcome.expiresAt.getTime(), Date.now(), serverDateMs);
      if (failClosedDelayMs(remainingMs) <= 0) {
        throw new LeaseExpiredError(
          'The lease expiry reported by the server has already passed on the local clock; check clock synchronisation',
        );
      }
      logger.info('killswitch: lease validated', {
        expiresAt: outcome.expiresAt.toISOString(),
        epoch: outcome.epoch,
      });
      return new LeaseSession({
        endpoints,
        token: options.token,
        fetch: fetchImpl,
        logger,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        lease: {
          expiresAt: outcome.expiresAt,
          epoch: outcome.epoch,
          remainingMs,
          maxExpiresAt: outcome.maxExpiresAt,
        },
      });
    }
    case 'revoked':
      throw new KillSwitchRevokedError({
        reason: outcome.reason,
        revokedAt: outcome.revokedAt,
        incidentId: outcome.incidentId,
      });
    case 'expired':
      throw new LeaseExpiredError();
    case 'invalid':
      throw new InvalidLeaseError();
    case 'failed':
      // Fail closed: an agent that cannot prove it holds a lease must not start.
      throw new KillSwitchUnreachableError(
        `Could not validate the lease with the kill switch server at ${endpoints.heartbeatUrl}: ${outcome.message}`,
        { cause: outcome.cause },
      );
  }
}

/**
 * Entry point of the SDK.
 *
 * @example
 * ```ts
 * const session = await KillSwitch.connect({ url: 'http://127.0.0.1:3000', token: process.env.KILLSWITCH_LEASE_TOKEN! });
 * while (!session.signal.aborted) await step(session.signal);
 * await session.close();
 * ```
 */
export const KillSwitch: {
  /**
   * Validates the lease with one heartbeat and, if the server confirms it,
   * returns a session that keeps renewing it and listens for revocations.
   *
   * @throws {@link KillSwitchRevokedError} when the lease is revoked.
   * @throws {@link LeaseExpiredError} when the lease is expired (or already
   *   past its expiry on the local clock).
   * @throws {@link InvalidLeaseError} when the token is not recognised.
   * @throws {@link KillSwitchUnreachableError} when the server cannot be
   *   reached or answers with an error: the SDK fails closed.
   * @throws TypeError on invalid options.
   */
  readonly connect: (options: KillSwitchConnectOptions) => Promise<KillSwitchSession>;
} = Object.freeze({ connect });
