import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import type { FetchLike, KillSwitchAbortReason, KillSwitchSession } from '../../libs/agent-sdk/src';

/**
 * The global fetch, counting what an SDK session sends and what comes back, so a test can tell
 * a push from a heartbeat. `rewrite` may send the requests somewhere other than the URL the
 * session was given (to keep the heartbeat working while the push channel cannot connect).
 */
export class CountingFetch {
  /** Heartbeats sent. */
  sent = 0;
  /** Heartbeats the server answered, whatever the status. */
  answered = 0;
  /** Heartbeats that got no answer (connection refused, reset, aborted...). */
  failed = 0;
  /** HTTP status of every answer, in order. */
  readonly statuses: number[] = [];

  constructor(
    private readonly options: {
      rewrite?: (url: string) => string;
      /** Runs each request, e.g. outside a {@link HandleTracker}'s scope. */
      run?: <T>(request: () => Promise<T>) => Promise<T>;
    } = {},
  ) {}

  readonly fetch: FetchLike = async (url, init) => {
    this.sent++;
    const target = this.options.rewrite?.(url) ?? url;
    const run = this.options.run ?? (<T>(request: () => Promise<T>) => request());
    try {
      const response = await run(() => fetch(target, init));
      this.answered++;
      this.statuses.push(response.status);
      return response;
    } catch (error) {
      this.failed++;
      throw error;
    }
  };
}

/** What `aborted()` resolves with: the abort reason and when the `abort` event fired. */
export interface Abort {
  reason: KillSwitchAbortReason;
  at: number;
}

/** Resolves when `signal` aborts; rejects if it has not aborted within `timeoutMs`. */
export function aborted(
  signal: AbortSignal,
  timeoutMs: number,
  what = 'the signal',
): Promise<Abort> {
  if (signal.aborted) {
    return Promise.resolve({ reason: signal.reason as KillSwitchAbortReason, at: Date.now() });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what} to abort`));
    }, timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      resolve({ reason: signal.reason as KillSwitchAbortReason, at: Date.now() });
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Records every call of the session's onRevoked listeners, in order. */
export function recordRevocations(session: KillSwitchSession): KillSwitchAbortReason[] {
  const calls: KillSwitchAbortReason[] = [];
  session.onRevoked((reason) => calls.push(reason));
  return calls;
}

/**
 * Resource types that hold the event loop: timers and sockets. Finished requests (DNS,
 * crypto...) are left out: their async resources are destroyed only when collected.
 */
const HANDLE_TYPES = new Set(['Timeout', 'TCPWRAP', 'TLSWRAP', 'PIPEWRAP', 'UDPWRAP']);

/**
 * Handles (timers, sockets) created by code run through {@link track} and
 * not yet destroyed.
 *
 * `jest --detectOpenHandles` cannot see what the SDK leaves behind: the SDK unrefs its timers
 * and its socket, and Jest reports only handles that keep the process alive. This tracker
 * sees them anyway. Resources are attributed by async context, so the server running in the
 * same process (whose sockets are accepted in its own context) is not counted.
 */
export class HandleTracker {
  private readonly scope = new AsyncLocalStorage<true>();
  private readonly live = new Map<number, string>();
  private readonly hook = createHook({
    init: (asyncId, type) => {
      if (this.scope.getStore() === true && HANDLE_TYPES.has(type)) {
        this.live.set(asyncId, type);
      }
    },
    destroy: (asyncId) => {
      this.live.delete(asyncId);
    },
  });

  constructor() {
    this.hook.enable();
  }

  /** Runs `fn`; every handle it creates, directly or through callbacks, is tracked. */
  track<T>(fn: () => T): T {
    return this.scope.run(true, fn);
  }

  /** Runs `fn` untracked (e.g. the global fetch, whose pooled connections outlive any session). */
  untracked<T>(fn: () => T): T {
    return this.scope.exit(fn);
  }

  /** Types of the tracked handles still open, e.g. `['Timeout', 'TCPWRAP']`. */
  open(): string[] {
    return [...this.live.values()];
  }

  stop(): void {
    this.hook.disable();
    this.live.clear();
  }
}
