/**
 * Why a session's {@link KillSwitchSession.signal} was aborted.
 *
 * - `revoked`: an operator (or policy) pulled the kill switch for this agent.
 * - `expired`: the server reports the lease as expired.
 * - `invalid`: the server does not recognise the lease token.
 * - `unreachable`: the lease could not be renewed before it expired, so the
 *   SDK stopped the agent on its own (fail closed).
 * - `closed`: the agent called {@link KillSwitchSession.close}.
 */
export type KillSwitchCause = 'revoked' | 'expired' | 'invalid' | 'unreachable' | 'closed';

/**
 * The value of `session.signal.reason` once the session has ended, and the
 * argument passed to {@link KillSwitchSession.onRevoked} listeners.
 */
export interface KillSwitchAbortReason {
  /** Machine-readable category; branch on this. */
  readonly cause: KillSwitchCause;
  /** Human-readable explanation (the operator's reason when `cause` is `revoked`). */
  readonly reason?: string;
  /** ISO-8601 time of the revocation, when the server supplied one. */
  readonly revokedAt?: string;
  /** Incident that triggered the revocation, when the server supplied one. */
  readonly incidentId?: string;
}

/** Listener registered with {@link KillSwitchSession.onRevoked}. */
export type RevocationListener = (reason: KillSwitchAbortReason) => void;

/**
 * Optional structured logger. Every method is optional so `console`, pino,
 * winston and similar loggers can be passed as-is. The SDK never logs the
 * lease token.
 */
export interface KillSwitchLogger {
  debug?(message: string, meta?: Record<string, unknown>): void;
  info?(message: string, meta?: Record<string, unknown>): void;
  warn?(message: string, meta?: Record<string, unknown>): void;
  error?(message: string, meta?: Record<string, unknown>): void;
}

/** Request options the SDK passes to {@link FetchLike}. */
export interface HeartbeatRequestInit {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** The subset of a fetch `Response` the SDK reads. */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

/**
 * A fetch implementation. Node's global `fetch` satisfies this; the narrow
 * shape exists so tests and custom transports (proxies, mTLS agents) can be
 * injected without re-implementing the whole Fetch API.
 */
export type FetchLike = (url: string, init: HeartbeatRequestInit) => Promise<FetchResponseLike>;

/** Options for {@link KillSwitch.connect}. */
export interface KillSwitchConnectOptions {
  /** Base URL of the killswitch server, e.g. `http://127.0.0.1:3000`. A path prefix is honoured. */
  url: string;
  /** The agent's lease token (`ksl_...`). */
  token: string;
  /**
   * Fixed heartbeat interval in milliseconds. By default the SDK renews at a
   * third of the lease TTL. A fixed interval is capped at half the TTL so a
   * failed renewal still leaves time to retry before the lease runs out.
   */
  heartbeatIntervalMs?: number;
  /** Fetch implementation; defaults to the global `fetch` of Node 20+. */
  fetch?: FetchLike;
  /** Logger for lifecycle events; silent by default. */
  logger?: KillSwitchLogger;
}

/**
 * A live lease held by an agent. Obtain one with {@link KillSwitch.connect}.
 *
 * The session renews the lease in the background and listens for push
 * revocations. Its {@link KillSwitchSession.signal} aborts as soon as the
 * agent must stop, including when the server cannot be reached in time.
 */
export interface KillSwitchSession {
  /**
   * Aborts when the agent must stop. `signal.reason` is a
   * {@link KillSwitchAbortReason}. Pass it to fetch calls, child processes and
   * anything else that accepts an `AbortSignal`, and check it before every
   * side effect.
   */
  readonly signal: AbortSignal;
  /** Expiry of the lease as of the last successful renewal (a fresh copy on each read). */
  readonly expiresAt: Date;
  /** Lease epoch reported by the server at the last successful renewal. */
  readonly epoch: number;
  /**
   * Registers `listener` to run once when the session ends for any cause
   * other than `closed`. If the session has already ended that way, the
   * listener runs on the next microtask so a late registration never misses
   * a revocation. Listener exceptions are caught and logged.
   *
   * @returns A function that unregisters the listener.
   */
  onRevoked(listener: RevocationListener): () => void;
  /**
   * Throws a {@link KillSwitchError} if the session has ended, and also if
   * the fail-closed deadline has passed on the wall clock even though the
   * event loop has not yet run the deadline timer (for example after a long
   * synchronous computation). Call it immediately before irreversible actions.
   */
  assertActive(): void;
  /**
   * Stops heartbeats, disconnects the push channel and aborts the signal with
   * cause `closed`. Idempotent. Resolves once any in-flight heartbeat request
   * has settled, so nothing is left running.
   */
  close(): Promise<void>;
}
