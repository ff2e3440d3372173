import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import {
  Api,
  built,
  cpuProfiling,
  createLeasedAgents,
  freePort,
  inParallel,
  startChild,
  type BenchContext,
  type BenchUser,
  type ChildApp,
} from '../lib';

/** What a phone gets once its `stop` is carried out (the relay's `StopAck`). */
export type StopAck =
  | { ok: true; incidentId: string; revokedAt: string; agents: number }
  | { ok: false; error: string; code: string };

/** The `lease.revoked` push an agent runtime receives. */
export interface LeaseRevoked {
  agentId: string;
  reason: string;
  revokedAt: string;
  incidentId?: string;
}

/**
 * The built mobile relay (`dist/apps/mobile-relay/src/main.js`) in a child process, on a free
 * loopback port, sharing the killswitch's KEY_PREFIX (and so its users, agents and devices),
 * with the run's log level and `--cpu-prof`; it stops when the run ends.
 */
export async function startRelay(ctx: BenchContext, keyPrefix: string): Promise<ChildApp> {
  const profiling = cpuProfiling(ctx.settings.cpuProfileDir);
  const relay = await startChild({
    name: 'mobile-relay',
    script: built('apps/mobile-relay/src/main.js'),
    nodeArgs: profiling.nodeArgs,
    env: {
      ...profiling.env,
      REDIS_URL: ctx.redisUrl,
      KEY_PREFIX: keyPrefix,
      RELAY_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: ctx.settings.logLevel,
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
  });
  ctx.defer('stop the mobile relay', () => relay.stop());
  return relay;
}

/**
 * Every socket the benchmark opens, so that one clean-up closes them all however it ends.
 * Reconnection is off: a socket that drops must fail the run, not hide in a retry.
 */
export class SocketPool {
  private readonly sockets = new Set<Socket>();

  open(url: string, token: string): Socket {
    const socket = io(url, {
      auth: { token },
      transports: ['websocket'],
      reconnection: false,
      // One connection per socket, as separate phones and agent runtimes have.
      forceNew: true,
      timeout: 10_000,
    });
    this.sockets.add(socket);
    return socket;
  }

  close(socket: Socket): void {
    socket.disconnect();
    this.sockets.delete(socket);
  }

  closeAll(): number {
    const closed = this.sockets.size;
    for (const socket of this.sockets) {
      socket.disconnect();
    }
    this.sockets.clear();
    return closed;
  }
}

/** Resolves on `event` (with its first argument), rejects on `connect_error` or the bound. */
function first<T>(socket: Socket, event: string, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`${what}: no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (payload: T) => {
      clearTimeout(timer);
      socket.off('connect_error', onError);
      resolve(payload);
    };
    const onError = (error: Error) => {
      clearTimeout(timer);
      socket.off(event, onEvent);
      reject(new Error(`${what}: connect_error ${error.message}`));
    };
    socket.once(event, onEvent);
    socket.once('connect_error', onError);
  });
}

/** A paired phone with its device socket open (its snapshot received). */
export interface Phone {
  deviceId: string;
  owner: BenchUser;
  socket: Socket;
}

/**
 * Pairs `perOwner` phones to each owner (pairing code on killswitch, then `POST /v1/pair` on
 * the relay, as the phone page does) and opens their device sockets. Only successful pairings
 * happen, so the relay's limit on failed attempts per address never applies.
 */
export async function pairPhones(
  pool: SocketPool,
  relay: ChildApp,
  owners: BenchUser[],
  perOwner: number,
  signal: AbortSignal,
): Promise<Phone[]> {
  const anonymous = new Api(relay.url, undefined, signal);
  const paired = await inParallel(owners.length * perOwner, 16, async (index) => {
    const owner = owners[index % owners.length];
    const { code } = await owner.api.expect<{ code: string }>(201, '/v1/devices/pairing-codes');
    const device = await anonymous.expect<{ deviceToken: string; deviceId: string }>(
      201,
      '/v1/pair',
      { code, deviceName: `bench phone ${index}` },
    );
    return { owner, ...device };
  });
  return inParallel(paired.length, 50, async (index) => {
    signal.throwIfAborted();
    const { owner, deviceId, deviceToken } = paired[index];
    const socket = pool.open(`${relay.url}/devices`, deviceToken);
    await first(socket, 'snapshot', 15_000, `device socket ${deviceId}`);
    return { deviceId, owner, socket };
  });
}

/** An agent with a live lease and its push socket open on killswitch. */
export interface ListeningAgent {
  agentId: string;
  owner: BenchUser;
  socket: Socket;
  /** When (performance.now()) and what the first `lease.revoked` push was, once it comes. */
  revoked: Promise<{ at: number; payload: LeaseRevoked }>;
}

/**
 * Registers `perOwner` agents for each owner, issues each a lease (300 s) and connects its
 * socket to `/agents`. The result alternates owners (owner 0, 1, ..., 0, 1, ...), so
 * consecutive stops come from different users' phones.
 */
export async function listeningAgents(
  pool: SocketPool,
  killswitchUrl: string,
  owners: BenchUser[],
  perOwner: number,
  signal: AbortSignal,
): Promise<ListeningAgent[]> {
  const byOwner = await inParallel(owners.length, 4, (index) =>
    createLeasedAgents(owners[index].api, { count: perOwner, ttlSeconds: 300, concurrency: 2 }),
  );
  const leased = Array.from({ length: perOwner }, (_, k) =>
    owners.map((owner, o) => ({ owner, ...byOwner[o][k] })),
  ).flat();
  return inParallel(leased.length, 20, async (index) => {
    signal.throwIfAborted();
    const { owner, agentId, token } = leased[index];
    const socket = pool.open(`${killswitchUrl}/agents`, token);
    // Listening before it connects: nothing can slip in between.
    const revoked = new Promise<{ at: number; payload: LeaseRevoked }>((resolve) => {
      socket.once('lease.revoked', (payload: LeaseRevoked) =>
        resolve({ at: performance.now(), payload }),
      );
    });
    // The gateway joins the agent's room before it accepts the connection.
    await first(socket, 'connect', 15_000, `agent socket ${agentId}`);
    return { agentId, owner, socket, revoked };
  });
}

/** The two latencies of one stop, in milliseconds from the emit. */
export interface StopTiming {
  agentId: string;
  incidentId: string;
  ack: number;
  /** Undefined when no `lease.revoked` came within the bound: a lost push. */
  push?: number;
}

/** The push, or undefined when it does not come within `timeoutMs`. */
async function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The floor of a stop on `phone`'s socket: `stop` for `agent` without a requestId. The relay
 * handles it as every stop until the first write: the socket.io round trip, the device's
 * authentication (one Lua script of two HMGETs), then the stop's validation, which answers
 * `bad_request` (no requestId) before the stop claims its requestId (the first write). The
 * relay has no other acknowledged event on `/devices`. Nothing is revoked: the agent's real
 * stop follows.
 *
 * @returns milliseconds from the emit to the ack.
 * @throws when the ack is anything but that `bad_request`, or takes over `ackTimeoutMs`.
 */
export async function baselineStop(
  phone: Phone,
  agent: ListeningAgent,
  ackTimeoutMs = 5000,
): Promise<number> {
  const started = performance.now();
  const ack = (await phone.socket
    .timeout(ackTimeoutMs)
    .emitWithAck('stop', { agentId: agent.agentId })) as StopAck;
  const acked = performance.now();
  if (ack.ok || ack.code !== 'bad_request') {
    throw new Error(
      `baseline stop (no requestId) of ${agent.agentId} answered ${JSON.stringify(ack)}`,
    );
  }
  return acked - started;
}

/**
 * Taps STOP for `agent` on `phone`, as the phone page does (`emitWithAck('stop')` with a
 * fresh requestId), and waits for the ack, then for the agent's `lease.revoked` push (at most
 * `pushTimeoutMs`; a push that does not come is reported, not thrown, so that a run counts
 * them).
 *
 * @throws when the ack is not `ok` for exactly this one agent or takes over `ackTimeoutMs`,
 *   or when the push names another agent or incident.
 */
export async function stopAgent(
  phone: Phone,
  agent: ListeningAgent,
  ackTimeoutMs = 5000,
  pushTimeoutMs = 2000,
): Promise<StopTiming> {
  const started = performance.now();
  const ack = (await phone.socket
    .timeout(ackTimeoutMs)
    .emitWithAck('stop', { agentId: agent.agentId, requestId: randomUUID() })) as StopAck;
  const acked = performance.now();
  if (!ack.ok || ack.agents !== 1) {
    throw new Error(`stop of ${agent.agentId} answered ${JSON.stringify(ack)}`);
  }
  const timing = { agentId: agent.agentId, incidentId: ack.incidentId, ack: acked - started };
  const pushed = await within(agent.revoked, pushTimeoutMs);
  if (!pushed) {
    return timing;
  }
  if (pushed.payload.agentId !== agent.agentId || pushed.payload.incidentId !== ack.incidentId) {
    throw new Error(
      `lease.revoked for ${agent.agentId} (incident ${ack.incidentId}) said ${JSON.stringify(pushed.payload)}`,
    );
  }
  return { ...timing, push: pushed.at - started };
}
