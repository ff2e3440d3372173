import type { KillSwitchAbortReason, KillSwitchCause } from './types';

/**
 * Base class of every error the SDK raises about the state of a lease.
 * Branch on {@link KillSwitchError.status} or use `instanceof` on a subclass.
 */
export class KillSwitchError extends Error {
  override name = 'KillSwitchError';

  constructor(
    /** Why the lease cannot be used. */
    readonly status: KillSwitchCause,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The lease was revoked: the kill switch has been pulled for this agent. */
export class KillSwitchRevokedError extends KillSwitchError {
  override name = 'KillSwitchRevokedError';
  /** Operator-supplied reason for the revocation. */
  readonly reason: string;
  /** ISO-8601 time of the revocation, when known. */
  readonly revokedAt?: string;
  /** Incident that triggered the revocation, when known. */
  readonly incidentId?: string;

  constructor(details: { reason: string; revokedAt?: string; incidentId?: string }) {
    super('revoked', `Lease revoked: ${details.reason}`);
    this.reason = details.reason;
    this.revokedAt = details.revokedAt;
    this.incidentId = details.incidentId;
  }
}

/** The lease has expired and must be re-issued by the server's operator. */
export class LeaseExpiredError extends KillSwitchError {
  override name = 'LeaseExpiredError';

  constructor(message = 'Lease expired') {
    super('expired', message);
  }
}

/** The server does not recognise the lease token. */
export class InvalidLeaseError extends KillSwitchError {
  override name = 'InvalidLeaseError';

  constructor(message = 'Lease token is invalid') {
    super('invalid', message);
  }
}

/**
 * The server could not be reached (network error, timeout, 5xx), so the
 * lease could not be validated or renewed. Raised by `connect()` and, once a
 * session has failed closed, by `assertActive()`.
 */
export class KillSwitchUnreachableError extends KillSwitchError {
  override name = 'KillSwitchUnreachableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('unreachable', message, options);
  }
}

/** The agent closed its own session; raised by `assertActive()` afterwards. */
export class SessionClosedError extends KillSwitchError {
  override name = 'SessionClosedError';

  constructor(message = 'Kill switch session was closed') {
    super('closed', message);
  }
}

/**
 * Converts an abort reason (`session.signal.reason`) into the matching typed
 * error, for code that prefers throwing over inspecting the signal.
 */
export function toKillSwitchError(reason: KillSwitchAbortReason): KillSwitchError {
  switch (reason.cause) {
    case 'revoked':
      return new KillSwitchRevokedError({
        reason: reason.reason ?? 'no reason given',
        revokedAt: reason.revokedAt,
        incidentId: reason.incidentId,
      });
    case 'expired':
      return new LeaseExpiredError(reason.reason);
    case 'invalid':
      return new InvalidLeaseError(reason.reason);
    case 'unreachable':
      return new KillSwitchUnreachableError(reason.reason ?? 'Kill switch server unreachable');
    case 'closed':
      return new SessionClosedError(reason.reason);
  }
}
