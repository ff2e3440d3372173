import { io, type Socket } from 'socket.io-client';
import { toKillSwitchError } from './errors';
import {
  type Endpoints,
  type HeartbeatResult,
  revocationFromPush,
  sendHeartbeat,
} from './protocol';
import {
  failClosedDelayMs,
  heartbeatDelayMs,
  remainingLeaseMs,
  requestTimeoutMs,
  retryDelayMs,
} from './schedule';
import type {
  FetchLike,
  KillSwitchAbortReason,
  KillSwitchLogger,
  KillSwitchSession,
  RevocationListener,
} from './types';

/** Events the server pushes on the `/agents` namespace. */
interface ServerToAgentEvents {
  'lease.revoked': (payload: unknown) => void;
}

type Timer = ReturnType<typeof setTimeout>;

/** A lease the server has just confirmed as active. */
export interface ActiveLease {
  readonly expiresAt: Date;
  readonly epoch: number;
  /** Time left on the lease when the confirmation arrived, see `remainingLeaseMs`. */
  readonly remainingMs: number;
  /** No renewal extends the lease past this, when the server says. */
  readonly maxExpiresAt?: Date;
}

/** @internal Everything a session needs; assembled by `KillSwitch.connect`. */
export interface LeaseSessionInit {
  readonly endpoints: Endpoints;
  readonly token: string;
  readonly fetch: FetchLike;
  /** Already wrapped so that it cannot throw, see `safeLogger`. */
  readonly logger: Required<KillSwitchLogger>;
  readonly heartbeatIntervalMs?: number;
  /** Result of the validating heartbeat performed by `connect()`. */
  readonly lease: ActiveLease;
}

interface InFlightHeartbeat {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * @internal Implementation of {@link KillSwitchSession}. Not exported from the
 * package: a session is only meaningful after `connect()` validated the lease.
 */
export class LeaseSession implements KillSwitchSession {
  readonly signal: AbortSignal;

  readonly #controller = new AbortController();
  readonly #listeners = new Set<{ readonly listener: RevocationListener }>();
  readonly #init: LeaseSessionInit;
  readonly #log: Required<KillSwitchLogger>;
  readonly #socket: Socket<ServerToAgentEvents, Record<string, never>>;

  #expiresAt: Date;
  #maxExpiresAt?: Date;
  #epoch: number;
  #ttlMs: number;
  /** Wall-clock time at which the session fails closed; backs up the timer when the event loop is starved. */
  #deadlineAt = 0;
  #deadlineTimer: Timer | undefined;
  #heartbeatTimer: Timer | undefined;
  #inFlight: InFlightHeartbeat | undefined;
  /** A heartbeat was requested while one was in flight; its answer may predate the trigger. */
  #heartbeatAgain = false;
  #lastFailure: string | undefined;
  #lastPushReconnectAt = Date.now();

  constructor(init: LeaseSessionInit) {
    this.#init = init;
    this.#log = init.logger;
    this.signal = this.#controller.signal;
    this.#expiresAt = init.lease.expiresAt;
    this.#epoch = init.lease.epoch;
    this.#ttlMs = init.lease.remainingMs;
    this.#socket = this.#openPushChannel();
    this.#applyActiveLease(init.lease);
  }

  get expiresAt(): Date {
    return new Date(this.#expiresAt.getTime());
  }

  get epoch(): number {
    return this.#epoch;
  }

  onRevoked(listener: RevocationListener): () => void {
    const ended = this.#endReason();
    if (ended !== undefined) {
      if (ended.cause === 'closed') {
        return () => undefined;
      }
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) {
          this.#invoke(listener, ended);
        }
      });
      return () => {
        cancelled = true;
      };
    }
    const entry = { listener };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  assertActive(): void {
    this.#failClosedIfOverdue();
    const ended = this.#endReason();
    if (ended !== undefined) {
      throw toKillSwitchError(ended);
    }
  }

  async close(): Promise<void> {
    this.#end({ cause: 'closed', reason: 'session closed by the agent' });
    await this.#inFlight?.done;
  }

  #endReason(): KillSwitchAbortReason | undefined {
    return this.signal.aborted ? (this.signal.reason as KillSwitchAbortReason) : undefined;
  }

  #openPushChannel(): Socket<ServerToAgentEvents, Record<string, never>> {
    const socket: Socket<ServerToAgentEvents, Record<string, never>> = io(
      this.#init.endpoints.socketUrl,
      {
        path: this.#init.endpoints.socketPath,
        auth: { token: this.#init.token },
        // Long-polling needs sticky sessions behind a load balancer; a Node
        // client can always speak WebSocket, so skip polling altogether.
        transports: ['websocket'],
        // A private manager, so closing this session never tears down another
        // session's connection to the same server.
        forceNew: true,
        // The SDK must never be what keeps the process alive.
        autoUnref: true,
        reconnectionDelay: 500,
        reconnectionDelayMax: 5_000,
      },
    );

    socket.on('lease.revoked', (payload) => {
      this.#end(revocationFromPush(payload));
    });
    socket.on('connect', () => {
      this.#log.debug('killswitch: push channel connected');
      // Revocations published while we were not subscribed are lost, so ask
      // the server directly instead of waiting for the next scheduled renewal.
      this.#heartbeat();
    });
    socket.on('connect_error', (error) => {
      if (this.signal.aborted) {
        return;
      }
      if (socket.active) {
        this.#log.debug('killswitch: push channel unavailable, retrying', { error: error.message });
        return;
      }
      // The server refused the handshake, which usually means the lease is
      // gone; the heartbeat endpoint is authoritative, so ask it.
      this.#log.warn('killswitch: push channel rejected the lease; checking lease status', {
        error: error.message,
      });
      this.#heartbeat();
    });
    socket.on('disconnect', (reason) => {
      if (this.signal.aborted) {
        return;
      }
      this.#log.warn('killswitch: push channel disconnected', { reason });
      // Socket.IO does not reconnect after a server-initiated disconnect,
      // which the server may do right before revoking.
      if (!socket.active) {
        this.#heartbeat();
      }
    });
    return socket;
  }

  /** Re-arms the fail-closed deadline and the next renewal after the server confirmed the lease. */
  #applyActiveLease(lease: ActiveLease): void {
    this.#expiresAt = lease.expiresAt;
    this.#epoch = lease.epoch;
    this.#maxExpiresAt = lease.maxExpiresAt ?? this.#maxExpiresAt;
    // The lease's TTL is the most a renewal ever left on it: near its maximum lifetime each
    // renewal leaves less, and pacing heartbeats on that would send them ever faster.
    this.#ttlMs = Math.max(this.#ttlMs, lease.remainingMs);
    this.#lastFailure = undefined;

    const failClosedIn = failClosedDelayMs(lease.remainingMs);
    if (failClosedIn <= 0) {
      this.#end({
        cause: 'expired',
        reason:
          'the lease expiry reported by the server has already passed on the local clock; check clock synchronisation',
      });
      return;
    }
    this.#deadlineAt = Date.now() + failClosedIn;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(() => this.#failClosed(), failClosedIn);
    this.#deadlineTimer.unref();

    const configured = this.#init.heartbeatIntervalMs;
    const nextIn = heartbeatDelayMs(this.#ttlMs, configured);
    if (configured !== undefined && nextIn < configured) {
      this.#log.debug('killswitch: heartbeat interval capped to half the lease TTL', {
        configuredMs: configured,
        usedMs: Math.round(nextIn),
      });
    }
    this.#scheduleHeartbeat(nextIn);

    // A handshake rejected earlier is not retried by Socket.IO; now that the
    // lease is known to be valid, try again. At most once per heartbeat
    // interval: each rejection triggers a heartbeat, and without the limit a
    // server that keeps refusing the socket would get a tight request loop.
    const now = Date.now();
    if (
      !this.#socket.connected &&
      !this.#socket.active &&
      now - this.#lastPushReconnectAt >= nextIn
    ) {
      this.#lastPushReconnectAt = now;
      this.#socket.connect();
    }
  }

  #scheduleHeartbeat(delayMs: number): void {
    clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = setTimeout(() => this.#heartbeat(), delayMs);
    this.#heartbeatTimer.unref();
  }

  #heartbeat(): void {
    if (this.signal.aborted) {
      return;
    }
    if (this.#inFlight !== undefined) {
      this.#heartbeatAgain = true;
      return;
    }
    if (this.#failClosedIfOverdue()) {
      return;
    }
    clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;

    const controller = new AbortController();
    const done = sendHeartbeat({
      fetch: this.#init.fetch,
      url: this.#init.endpoints.heartbeatUrl,
      token: this.#init.token,
      timeoutMs: requestTimeoutMs(this.#ttlMs),
      signal: controller.signal,
    })
      .then((result) => {
        this.#inFlight = undefined;
        if (this.signal.aborted) {
          return;
        }
        this.#handleHeartbeat(result);
        if (this.#heartbeatAgain) {
          this.#heartbeatAgain = false;
          this.#heartbeat();
        }
      })
      .catch((error: unknown) => {
        // Only reachable through a bug. Keep retrying so that a bug in one
        // code path does not stop renewals and needlessly fail closed.
        this.#inFlight = undefined;
        this.#log.error('killswitch: internal error while handling a heartbeat', {
          error: String(error),
        });
        if (!this.signal.aborted) {
          this.#scheduleHeartbeat(retryDelayMs(this.#ttlMs));
        }
      });
    this.#inFlight = { controller, done };
  }

  #handleHeartbeat({ outcome, serverDateMs }: HeartbeatResult): void {
    switch (outcome.kind) {
      case 'active': {
        const remainingMs = remainingLeaseMs(outcome.expiresAt.getTime(), Date.now(), serverDateMs);
        this.#log.debug('killswitch: lease renewed', {
          expiresAt: outcome.expiresAt.toISOString(),
          epoch: outcome.epoch,
        });
        this.#applyActiveLease({
          expiresAt: outcome.expiresAt,
          epoch: outcome.epoch,
          remainingMs,
          maxExpiresAt: outcome.maxExpiresAt,
        });
        return;
      }
      case 'revoked':
        this.#end({
          cause: 'revoked',
          reason: outcome.reason,
          ...(outcome.revokedAt !== undefined && { revokedAt: outcome.revokedAt }),
          ...(outcome.incidentId !== undefined && { incidentId: outcome.incidentId }),
        });
        return;
      case 'expired':
        this.#end({ cause: 'expired', reason: 'the server reports the lease as expired' });
        return;
      case 'invalid':
        this.#end({ cause: 'invalid', reason: 'the server rejected the lease token' });
        return;
      case 'failed': {
        this.#lastFailure = outcome.message;
        const retryInMs = retryDelayMs(this.#ttlMs);
        this.#log.warn('killswitch: could not renew lease; retrying', {
          error: outcome.message,
          retryInMs: Math.round(retryInMs),
          failsClosedAt: new Date(this.#deadlineAt).toISOString(),
        });
        // The deadline timer is left untouched on purpose: only a confirmed
        // renewal may push it back.
        this.#scheduleHeartbeat(retryInMs);
        return;
      }
    }
  }

  /** Checks the deadline against the wall clock, for when timers are late. */
  #failClosedIfOverdue(): boolean {
    if (this.signal.aborted) {
      return true;
    }
    if (Date.now() < this.#deadlineAt) {
      return false;
    }
    this.#failClosed();
    return true;
  }

  #failClosed(): void {
    if (this.#maxExpiresAt && this.#expiresAt.getTime() >= this.#maxExpiresAt.getTime()) {
      this.#end({
        cause: 'expired',
        reason:
          `lease reached its maximum lifetime at ${this.#maxExpiresAt.toISOString()}: no ` +
          'renewal can extend it; its owner must issue a new one',
      });
      return;
    }
    const lastError = this.#lastFailure === undefined ? '' : ` (last error: ${this.#lastFailure})`;
    this.#end({
      cause: 'unreachable',
      reason: `lease could not be renewed before it expires at ${this.#expiresAt.toISOString()}${lastError}`,
    });
  }

  #end(reason: KillSwitchAbortReason): void {
    if (this.signal.aborted) {
      return;
    }
    const frozen = Object.freeze({ ...reason });
    // Stopping the agent comes first; cleanup and notifications can wait a few
    // microseconds, a tool call started in the meantime cannot be undone.
    this.#controller.abort(frozen);

    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#heartbeatTimer);
    this.#deadlineTimer = undefined;
    this.#heartbeatTimer = undefined;
    this.#heartbeatAgain = false;
    this.#inFlight?.controller.abort(frozen);
    this.#socket.disconnect();

    if (frozen.cause === 'closed') {
      this.#log.info('killswitch: session closed');
      this.#listeners.clear();
      return;
    }
    this.#log.warn('killswitch: agent must stop', { ...frozen });
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const { listener } of listeners) this.#invoke(listener, frozen);
  }

  #invoke(listener: RevocationListener, reason: KillSwitchAbortReason): void {
    try {
      listener(reason);
    } catch (error) {
      this.#log.error('killswitch: onRevoked listener threw', { error: String(error) });
    }
  }
}
