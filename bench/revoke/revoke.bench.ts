import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ACTIONS_QUEUE } from '@app/actions';
import { FENCE_BATCH, REVOCATION_QUEUE } from '@app/revocation';
import { io, type Socket } from 'socket.io-client';
import {
  claimPrefix,
  commandStats,
  commandStatsBetween,
  count,
  createUser,
  distribution,
  fineMs,
  formatTable,
  hardwareLine,
  harnessQueues,
  inParallel,
  profileDuring,
  startProfiling,
  summarizeProfile,
  KeepAliveClient,
  queueRoomFor,
  startApiAndWorkers,
  waitUntil,
  watchSlowlog,
  withRedis,
  type Benchmark,
  type BenchContext,
  type Distribution,
  type SlowCommand,
} from '../lib';
import { pairPhones, SocketPool, startRelay } from '../phone-stop/fixtures';

const NOOP_TYPE = 'bench.noop';
/** Single revocations thrown away first (JIT, connection pools). */
const WARMUP_REVOCATIONS = 10;
/** The issue's targets. */
const TARGET_FENCE_P99_MS = 5;
const TARGET_BULK_FENCE_MS = 100;
const TARGET_HALT_MS = 20_000;
const TARGET_SLOWLOG_MICROS = 10_000;
/** How long the phones may go without an event before their share of the flood counts as all in. */
const PHONES_QUIET_MS = 1000;
/** How long a single revocation waits for its push before counting it lost. */
const PUSH_WAIT_MS = 2000;

const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
const load1 = () => loadavg()[0].toFixed(2);
const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(1)}x`;

interface Leased {
  agentId: string;
  token: string;
}

/** One single-agent revocation, in ms after the request was sent. */
interface Sample {
  /** Whether heartbeat and introspection probes ran beside the call. */
  probed: boolean;
  /** The baseline: an authenticated one-read request on the same connection, just before. */
  baseline: number;
  revoke: number;
  /**
   * The fence written: the answer's `revokedAt` (Redis' wall clock, taken inside the fence
   * script and cut to whole ms) less the wall-clock time the request was sent at. The cut makes
   * it up to 1 ms early, never late: the fence was written within [written, written + 1). What
   * the probes add (a round trip each, and their scheduling) is not in it.
   */
  written: number;
  heartbeat: number;
  introspect: number;
  push: number;
}

async function run(ctx: BenchContext): Promise<void> {
  const { redisUrl, settings, signal, options } = ctx;
  const revocations = options.revocations;
  const fleet = options.agents;
  const perAgent = options['actions-per-agent'];
  const prefix = claimPrefix(ctx, 'revoke');

  const hardware = await hardwareLine(redisUrl);
  const loadBefore = load1();
  const { api, workers } = await startApiAndWorkers(ctx, prefix, queueRoomFor(perAgent));

  const fixtures = new KeepAliveClient(api.url, 48, signal);
  ctx.defer('close HTTP clients', () => fixtures.close());
  await fixtures.expect(200, 'PUT', `/v1/action-types/${NOOP_TYPE}`, {
    token: api.adminKey,
    json: { executor: { kind: 'noop' }, reversible: false },
  });
  const owner = await createUser(api.admin, 'owner', 'bench-owner');
  const responder = await createUser(api.admin, 'responder', 'bench-responder');
  const service = await createUser(api.admin, 'viewer', 'bench-resource-server');

  const lease = async (index: number, labels: Record<string, string>): Promise<Leased> => {
    const agent = await fixtures.expect<{ id: string }>(201, 'POST', '/v1/agents', {
      token: owner.apiKey,
      json: { name: `bench-agent-${index}`, labels, allowedActions: [NOOP_TYPE] },
    });
    const issued = await fixtures.expect<{ token: string }>(
      201,
      'POST',
      `/v1/agents/${agent.id}/leases`,
      { token: owner.apiKey, json: { ttlSeconds: 300 } },
    );
    return { agentId: agent.id, token: issued.token };
  };

  // ---------------------------------------------------------------- (a) single revocations
  const singles = revocations + WARMUP_REVOCATIONS;
  ctx.log(`(a) creating ${singles} agents with a lease and a connected socket each`);
  const agents = await inParallel(singles, 16, (i) => lease(i, { fleet: 'single' }));
  const sockets: Socket[] = [];
  ctx.defer('close sockets', () => sockets.forEach((socket) => socket.close()));
  const awaiting = new Map<string, (at: number) => void>();
  const misrouted: string[] = [];
  await inParallel(agents.length, 16, async (i) => {
    const socket = io(`${api.url}/agents`, {
      auth: { token: agents[i].token },
      transports: ['websocket'],
      reconnection: false,
      // One connection per agent, as separate runtimes have (not one multiplexed Manager).
      forceNew: true,
      timeout: 10_000,
    });
    sockets[i] = socket;
    socket.on('lease.revoked', (event: { agentId?: string }) => {
      if (event.agentId === agents[i].agentId) {
        awaiting.get(agents[i].agentId)?.(performance.now());
      } else {
        // The push of another agent on this agent's socket: reported.
        misrouted.push(`${String(event.agentId)} on the socket of ${agents[i].agentId}`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => reject(error));
    });
  });

  // One connection each: the responder's phone, the agent's heartbeats, a resource server.
  const phone = new KeepAliveClient(api.url, 1, signal);
  const runtime = new KeepAliveClient(api.url, 1, signal);
  const resourceServer = new KeepAliveClient(api.url, 1, signal);
  ctx.defer('close probe clients', () =>
    [phone, runtime, resourceServer].forEach((c) => c.close()),
  );

  /** Sends `probe` back to back until `done` says so; answers when the last one arrived. */
  const until = async (
    probe: () => Promise<{ status: number; body: unknown; answeredAt: number }>,
    done: (status: number, body: unknown) => boolean,
    deadline: number,
  ): Promise<number> => {
    for (;;) {
      const reply = await probe();
      if (done(reply.status, reply.body)) {
        return reply.answeredAt;
      }
      if (performance.now() > deadline) {
        throw new Error(`still not revoked 5 s after the request (last answer ${reply.status})`);
      }
    }
  };

  ctx.log(
    `(a) ${revocations} revocations one after another (after ${WARMUP_REVOCATIONS} thrown away)`,
  );
  const samples: Sample[] = [];
  const singleStops = async () => {
    for (const [index, agent] of agents.entries()) {
      signal.throwIfAborted();
      // Each agent's runtime and its resource server see a live lease right before.
      await runtime.expect(200, 'POST', '/v1/leases/heartbeat', { token: agent.token, json: {} });
      // A push that does not come within the bound counts as lost (reported, not fatal).
      const pushed = new Promise<number>((resolve) => {
        const timer = setTimeout(() => {
          awaiting.delete(agent.agentId);
          resolve(NaN);
        }, PUSH_WAIT_MS);
        awaiting.set(agent.agentId, (at) => {
          clearTimeout(timer);
          awaiting.delete(agent.agentId);
          resolve(at);
        });
      });
      // Every other revocation is measured quiet (no probe beside it; the fence is then checked
      // once, right after the answer), so that the probes' own load on the API instance shows.
      const probed = index % 2 === 0;
      const heartbeatOnce = () =>
        runtime.send<{ status?: string }>('POST', '/v1/leases/heartbeat', {
          token: agent.token,
          json: {},
        });
      const introspectOnce = () =>
        resourceServer.send<{ active?: boolean }>('POST', '/v1/introspect', {
          token: service.apiKey,
          form: { token: agent.token },
        });
      const isRevoked = (status: number, body: unknown) =>
        status === 401 && (body as { status?: string } | undefined)?.status === 'revoked';
      const isInactive = (status: number, body: unknown) =>
        status === 200 && (body as { active?: boolean } | undefined)?.active === false;
      // The baseline: what any authenticated request with one Redis read costs on this
      // connection, right now (the floor the revocation is compared to).
      const read = await phone.send('GET', `/v1/agents/${agent.agentId}`, {
        token: responder.apiKey,
      });
      if (read.status !== 200) {
        throw new Error(`the baseline read answered ${read.status}`);
      }
      const sentAt = performance.now();
      // The same moment on the wall clock, below the ms (Redis stamps the fence with its own).
      const sentWallMs = performance.timeOrigin + sentAt;
      const deadline = sentAt + 5000;
      const revokeCall = phone.send<{ status?: string; revokedAt?: string }>(
        'POST',
        `/v1/agents/${agent.agentId}/revoke`,
        { token: responder.apiKey, json: { reason: 'bench: single revocation' } },
      );
      const settled = await Promise.allSettled([
        revokeCall,
        probed ? until(heartbeatOnce, isRevoked, deadline) : Promise.resolve(NaN),
        probed ? until(introspectOnce, isInactive, deadline) : Promise.resolve(NaN),
        pushed,
      ]);
      // The revoke's own failure explains the others: report it first.
      const [revoked, heartbeat, introspect, push] = settled.map((outcome) => {
        if (outcome.status === 'rejected') {
          throw outcome.reason;
        }
        return outcome.value;
      }) as [Awaited<typeof revokeCall>, number, number, number];
      if (revoked.status !== 200 || revoked.body.status !== 'revoked') {
        throw new Error(`revoke answered ${revoked.status}: ${JSON.stringify(revoked.body)}`);
      }
      if (!probed) {
        // The call answers once the fence is written: the very next heartbeat and introspection
        // must already see it.
        const [h, i] = await Promise.all([heartbeatOnce(), introspectOnce()]);
        if (!isRevoked(h.status, h.body) || !isInactive(i.status, i.body)) {
          throw new Error(
            `fence not visible right after the revoke answered: heartbeat ${h.status} ` +
              `${JSON.stringify(h.body)}, introspection ${JSON.stringify(i.body)}`,
          );
        }
      }
      if (index >= WARMUP_REVOCATIONS) {
        samples.push({
          probed,
          baseline: read.answeredAt - read.sentAt,
          revoke: revoked.answeredAt - sentAt,
          written: Date.parse(revoked.body.revokedAt ?? '') - sentWallMs,
          heartbeat: heartbeat - sentAt,
          introspect: introspect - sentAt,
          push: push - sentAt,
        });
      }
    }
  };
  let apiProfile: string | undefined;
  if (settings.cpuProfileDir) {
    apiProfile = (await profileDuring(api.app, singleStops)).file;
  } else {
    await singleStops();
  }
  sockets.forEach((socket) => socket.close());

  const probedSamples = samples.filter((s) => s.probed);
  const quietSamples = samples.filter((s) => !s.probed);
  const dist = {
    revokeQuiet: distribution(quietSamples.map((s) => s.revoke)),
    revokeProbed: distribution(probedSamples.map((s) => s.revoke)),
    heartbeat: distribution(probedSamples.map((s) => s.heartbeat)),
    introspect: distribution(probedSamples.map((s) => s.introspect)),
    fence: distribution(probedSamples.map((s) => Math.max(s.heartbeat, s.introspect))),
    // Fence visible: seen by both probes, or (quiet) the answer, after which both saw it.
    fenceAll: distribution(
      samples.map((s) => (s.probed ? Math.max(s.heartbeat, s.introspect) : s.revoke)),
    ),
    written: distribution(samples.map((s) => s.written)),
    push: distribution(samples.map((s) => s.push).filter((ms) => !Number.isNaN(ms))),
    baseline: distribution(samples.map((s) => s.baseline)),
  };
  const lostPushes = samples.length - dist.push.count;
  // The stamp is cut to whole ms: up to 1 ms early, never late.
  const writtenP99 = dist.written.p99 + 1;
  const latencyRow = (label: string, d: Distribution) => [
    label,
    fineMs(d.p50),
    fineMs(d.p90),
    fineMs(d.p99),
    fineMs(d.max),
    fineMs(d.mean),
  ];

  // ---------------------------------------------------------------- (b) bulk revocation
  const totalActions = fleet * perAgent;
  const [actionsQueue, revocationQueue] = await harnessQueues(
    ctx,
    prefix,
    ACTIONS_QUEUE,
    REVOCATION_QUEUE,
  );
  // The workers instance would run (and finish) no-op actions at once: pause the actions
  // queue, as workers that are behind would leave them, so that all of them are still queued
  // at the revocation. The revocation queue is not paused: its follow-up is what is measured.
  await actionsQueue.pause();

  const slowlog = await watchSlowlog(redisUrl, TARGET_SLOWLOG_MICROS);
  ctx.defer('restore slowlog-log-slower-than', () => slowlog.restore());

  ctx.log(
    `(b) creating ${count(fleet)} agents (label fleet=bench), each with a lease and ` +
      `${perAgent} queued actions (${count(totalActions)} in all)`,
  );
  const setupStarted = performance.now();
  let submitted = 0;
  await inParallel(fleet, 48, async (i) => {
    const agent = await lease(i, { fleet: 'bench' });
    for (let k = 0; k < perAgent; k++) {
      await fixtures.expect(202, 'POST', '/v1/actions', {
        token: agent.token,
        json: { type: NOOP_TYPE, params: { k } },
      });
      if (++submitted % 20_000 === 0) {
        ctx.log(`  ${count(submitted)} actions queued`);
      }
    }
  });
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  ctx.log(`  set up in ${setupSeconds.toFixed(1)} s`);
  const setupSlow = await slowlog.read(50);

  // (a)'s follow-ups must be over, so that only this revocation's work is measured.
  await waitUntil(
    async () => {
      const c = await revocationQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    },
    { what: "(a)'s revocation follow-ups", timeoutMs: 60_000, intervalMs: 200, signal },
  );
  await slowlog.reset();

  // The baseline: the reads of a fence without its writes, batched the same way (the label's
  // members, then each agent's status and epoch from Lua scripts of FENCE_BATCH agents sent at
  // once), from a plain client, right now: about the least any fence of these agents could cost.
  const baselineMs = await withRedis(redisUrl, async (redis) => {
    const read = [
      '#!lua flags=allow-cross-slot-keys,no-writes',
      "for _, key in ipairs(KEYS) do redis.call('HMGET', key, 'status', 'epoch') end",
      'return #KEYS',
    ].join('\n');
    const sha = (await redis.script('LOAD', read)) as string;
    const started = performance.now();
    const ids = await redis.smembers(`${prefix}:label:fleet=bench`);
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < ids.length; i += FENCE_BATCH) {
      const keys = ids.slice(i, i + FENCE_BATCH).map((id) => `${prefix}:{${id}}:agent`);
      batches.push(redis.evalsha(sha, keys.length, ...keys));
    }
    await Promise.all(batches);
    return performance.now() - started;
  });

  // With --phones: a mobile relay, and that many of the responder's phones watching every agent
  // through it (as a responder's phone page does), counting the live events the stop sends them.
  const watching = options.phones > 0 ? await watchThroughRelay(ctx, prefix, responder) : undefined;

  ctx.log(`(b) revoking fleet=bench`);
  watching?.start();
  // With --cpu-prof: the workers instance, from the call until the incident is done.
  const stopWorkersProfile = settings.cpuProfileDir ? startProfiling(workers.app) : undefined;
  const statsBefore = await commandStats(redisUrl);
  const bulk = await phone.send<{ incidentId: string; agents: number }>('POST', '/v1/revocations', {
    token: responder.apiKey,
    json: { selector: { labels: { fleet: 'bench' } }, reason: 'bench: bulk revocation' },
    timeoutMs: 60_000,
  });
  if (bulk.status !== 200 || bulk.body.agents !== fleet) {
    throw new Error(
      `bulk revoke answered ${bulk.status}: ${JSON.stringify(bulk.body).slice(0, 300)}`,
    );
  }
  const fenceMs = bulk.answeredAt - bulk.sentAt;
  // Redis CPU while the call ran (the follow-up is held until it answers): how much of the
  // call is Redis' own work.
  const redisDuringCall = commandStatsBetween(statsBefore, await commandStats(redisUrl));
  const incidentId = bulk.body.incidentId;
  const incidentKey = `${prefix}:{${incidentId}}:incident`;
  let state: (string | null)[] = [];
  let doneAt = NaN;
  // The incident's own hash, read directly: cheap enough to poll every 50 ms (its HTTP view
  // carries the whole timeline, read once at the end).
  await waitUntil(
    async () => {
      state = await withRedis(redisUrl, (redis) =>
        redis.hmget(incidentKey, 'status', 'done', 'total', 'halted', 'openedAt', 'doneAt'),
      );
      if (state[0] === 'done') {
        doneAt = performance.now();
        return true;
      }
      return false;
    },
    { what: `incident ${incidentId} done`, timeoutMs: 120_000, intervalMs: 50, signal },
  );
  const workersProfile = await stopWorkersProfile?.();
  const relayLine = await watching?.drained(bulk.sentAt);
  const haltMs = doneAt - bulk.sentAt;
  const serverHaltMs = Number(state[5]) - Number(state[4]);
  const revokeSlow = await slowlog.read(50);
  await slowlog.restore();
  const incident = await fixtures.expect<{
    status: string;
    progress: { done: number; total: number };
    counts: Record<string, number>;
  }>(200, 'GET', `/v1/incidents/${incidentId}`, { token: responder.apiKey, timeoutMs: 30_000 });
  const allHalted = incident.counts.halted === totalActions;

  const ours = (entry: SlowCommand) =>
    entry.client.includes(prefix) || entry.command.includes(prefix);
  const slowLines = (entries: SlowCommand[]) =>
    entries.length === 0
      ? ['  none']
      : entries.map(
          (e) =>
            `  ${(e.micros / 1000).toFixed(1)} ms  ${ours(e) ? 'killswitch' : 'other client'}  ` +
            `${e.client || '?'}  ${e.command}`,
        );
  const slowOurs = revokeSlow.filter(ours);

  ctx.print(
    [
      '',
      `revoke (a): ${revocations} single-agent revocations one after another (POST ` +
        `/v1/agents/:id/revoke as a responder, after ${WARMUP_REVOCATIONS} thrown away), each ` +
        'agent with a live lease and a socket.io connection; from sending the request to: its ' +
        'answer; (probed: every other revocation) the first heartbeat answered 401 revoked and ' +
        'the first introspection answered active:false, each probe sent back to back on its own ' +
        'connection from the same moment (an upper bound, within one probe round trip); (quiet: ' +
        'the others) nothing beside the call, and both checked once right after its answer; ' +
        'the lease.revoked push to the agent socket',
      `hardware: ${hardware}; all on the same machine; load average ${loadBefore} before`,
      '',
      formatTable(
        ['', 'p50', 'p90', 'p99', 'max', 'mean'],
        [
          latencyRow(`revoke call answered, quiet (${dist.revokeQuiet.count})`, dist.revokeQuiet),
          latencyRow(
            `revoke call answered, probed (${dist.revokeProbed.count})`,
            dist.revokeProbed,
          ),
          latencyRow('  heartbeat answers 401', dist.heartbeat),
          latencyRow('  introspection active:false', dist.introspect),
          latencyRow('  fence visible to both', dist.fence),
          latencyRow(`fence visible, all (${dist.fenceAll.count})`, dist.fenceAll),
          latencyRow('fence written in Redis, all (< 1 ms early)', dist.written),
          latencyRow('lease.revoked push received', dist.push),
          latencyRow(`baseline: GET /v1/agents/:id (${dist.baseline.count})`, dist.baseline),
        ],
      ),
      `lease.revoked pushes received: ${dist.push.count} of ${samples.length}` +
        (lostPushes > 0
          ? ` (${lostPushes} LOST: not received within ${PUSH_WAIT_MS} ms by a connected socket)`
          : '') +
        (misrouted.length > 0
          ? `; ${misrouted.length} reached ANOTHER agent's socket (${misrouted.slice(0, 3).join('; ')})`
          : ''),
      '',
      // The target is read as the fence written (README, Performance): from that moment every
      // heartbeat, introspection and action start is refused; a probe adds its own round trip.
      `p99 to the fence: written in Redis by ${fineMs(writtenP99)} after the request is sent ` +
        `(p50 ${fineMs(dist.written.p50 + 1)}; its stamp's whole ms, plus 1 ms); target < ` +
        `${TARGET_FENCE_P99_MS} ms: ${verdict(writtenP99 < TARGET_FENCE_P99_MS)}; ` +
        `${ratio(writtenP99, dist.baseline.p99)} of the baseline's p99 ` +
        `${fineMs(dist.baseline.p99)} (an authenticated request with one Redis read, on the ` +
        "same connection just before each revocation: the two round trips a stop's fence needs)",
      `seen by the heartbeat and introspection probes at p99 ${fineMs(dist.fenceAll.p99)} ` +
        '(their own round trip added); the quiet revoke call answered at p50 ' +
        // Like for like: the quiet revocations, on the same connection with nothing beside.
        `${ratio(dist.revokeQuiet.p50, dist.baseline.p50)} and p99 ` +
        `${ratio(dist.revokeQuiet.p99, dist.baseline.p99)} of the baseline's (p50 ` +
        `${fineMs(dist.baseline.p50)})`,
      '',
      `revoke (b): ${count(fleet)} agents (label fleet=bench) with ${count(totalActions)} queued ` +
        `actions (${perAgent} each; actions queue paused so none runs), set up over HTTP in ` +
        `${setupSeconds.toFixed(1)} s; one POST /v1/revocations {selector: {labels: {fleet: ` +
        'bench}}} to the API instance, follow-up on the workers instance',
      '',
      formatTable(
        ['', 'time', 'target', ''],
        [
          [
            `fence ${count(fleet)} agents (the call)`,
            fineMs(fenceMs),
            `< ${TARGET_BULK_FENCE_MS} ms`,
            verdict(fenceMs < TARGET_BULK_FENCE_MS),
          ],
          [
            `all ${count(totalActions)} queued actions halted (incident done)`,
            fineMs(haltMs),
            `< ${TARGET_HALT_MS / 1000} s`,
            verdict(haltMs < TARGET_HALT_MS && allHalted),
          ],
          ['  the same, by the incident (doneAt - openedAt)', fineMs(serverHaltMs), '', ''],
          [
            'baseline: the same reads without writes, HTTP or incident',
            fineMs(baselineMs),
            '',
            `call ${ratio(fenceMs, baselineMs)}`,
          ],
        ],
      ),
      'Redis CPU during the call (INFO commandstats; commands run by a script are counted in ' +
        'the script and again on their own line):',
      ...redisDuringCall.map(
        (c) =>
          `  ${c.command.padEnd(10)} ${count(c.calls).padStart(7)} calls  ${fineMs(c.micros / 1000)}`,
      ),
      ...(relayLine ? [relayLine] : []),
      `incident ${incident.status}, progress ${incident.progress.done}/${incident.progress.total}, ` +
        `counts ${JSON.stringify(incident.counts)}; halted == ${count(totalActions)}: ` +
        `${allHalted ? 'yes' : 'NO'}`,
      '',
      `Redis SLOWLOG (commands over ${TARGET_SLOWLOG_MICROS / 1000} ms; Redis is shared, so ` +
        "other clients' commands show too) during the revocation, until the incident was done:",
      ...slowLines(revokeSlow),
      `no killswitch command > ${TARGET_SLOWLOG_MICROS / 1000} ms: ${verdict(slowOurs.length === 0)}`,
      `during the set-up (submissions), for reference:`,
      ...slowLines(setupSlow),
      ...(apiProfile ? ['', `(a) API instance, ${summarizeProfile(apiProfile)}`] : []),
      ...(workersProfile
        ? ['', `(b) workers instance, until done, ${summarizeProfile(workersProfile)}`]
        : []),
    ].join('\n'),
  );
  const failures = [
    !allHalted && `halted ${incident.counts.halted}, expected ${totalActions}`,
    samples.length !== revocations && `${samples.length} of ${revocations} samples`,
    lostPushes > 0 && `${lostPushes} lease.revoked pushes lost`,
    misrouted.length > 0 && `${misrouted.length} pushes reached another agent's socket`,
  ].filter(Boolean);
  if (failures.length > 0) {
    throw new Error(`the figures do not count: ${failures.join('; ')}`);
  }
}

/**
 * A mobile relay on the benchmark's prefix with `--phones` of the responder's phones paired and
 * their device sockets open. `start()` begins counting what they receive; `drained()` waits
 * until no event has come for a second and describes what came, and the relay's CPU.
 */
async function watchThroughRelay(
  ctx: BenchContext,
  prefix: string,
  responder: Awaited<ReturnType<typeof createUser>>,
) {
  const { settings, signal, options } = ctx;
  ctx.log(`(b) starting a mobile relay and pairing ${options.phones} of the responder's phones`);
  const relay = await startRelay(ctx, prefix);
  const pool = new SocketPool();
  ctx.defer('close phone sockets', () => void pool.closeAll());
  const phones = await pairPhones(pool, relay, [responder], options.phones, signal);
  const received = new Map<string, number>();
  let counting = false;
  let lastAt = 0;
  for (const { socket } of phones) {
    socket.onAny((event: string) => {
      if (counting) {
        received.set(event, (received.get(event) ?? 0) + 1);
        lastAt = performance.now();
      }
    });
  }
  let cpuBefore: number | undefined;
  // With --cpu-prof: the relay too, from the call until its phones stop receiving.
  let stopProfile: (() => Promise<string>) | undefined;
  return {
    start() {
      counting = true;
      cpuBefore = relay.cpuSeconds();
      stopProfile = settings.cpuProfileDir ? startProfiling(relay) : undefined;
    },
    async drained(sentAt: number): Promise<string> {
      await waitUntil(() => Promise.resolve(performance.now() - lastAt > PHONES_QUIET_MS), {
        what: 'the phones to stop receiving events',
        timeoutMs: 300_000,
        intervalMs: 100,
        signal,
      });
      const cpu = relay.cpuSeconds();
      const profile = await stopProfile?.();
      const events = [...received].map(([name, n]) => `${count(n / phones.length)} ${name}`);
      return (
        `${phones.length} responder phone(s) watching through a mobile relay, each received: ` +
        `${events.join(', ') || 'nothing'}; the last ${fineMs(lastAt - sentAt)} after the call ` +
        `was sent; relay CPU ${cpu !== undefined && cpuBefore !== undefined ? `${(cpu - cpuBefore).toFixed(1)} s` : 'unknown'}` +
        (profile
          ? `\n\n(b) mobile relay, until its phones went quiet, ${summarizeProfile(profile)}`
          : '')
      );
    },
  };
}

export const benchmark: Benchmark = {
  description:
    'revocation: latency to fence and push for single agents, and a bulk stop of a fleet with queued actions',
  options: {
    revocations: { description: 'single-agent revocations measured in (a)', default: 200 },
    agents: { description: 'agents of the bulk revocation (b)', default: 10_000 },
    'actions-per-agent': { description: 'queued actions per agent in (b)', default: 10 },
    phones: {
      description:
        "responder's phones watching (b) through a mobile relay, counting the live events they receive (0: no relay)",
      default: 0,
    },
  },
  estimateSeconds: (_s, o) =>
    60 + o.revocations * 0.1 + o.agents * 0.01 + o.agents * o['actions-per-agent'] * 0.0015,
  run,
};
