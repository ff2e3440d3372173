import { loadavg } from 'node:os';
import { Queue, QueueEvents } from 'bullmq';
import { actionJobOptions } from '@app/actions';
import { Keys } from '@app/redis';
import {
  claimPrefix,
  built,
  count,
  cpuProfiling,
  cpuSecondsOf,
  createUser,
  formatTable,
  freePort,
  hardwareLine,
  harnessConnection,
  inParallel,
  KeepAliveClient,
  percent,
  profileDuring,
  queueRoomFor,
  redisCpuSeconds,
  startChild,
  startKillswitch,
  summarizeProfile,
  waitUntil,
  type Benchmark,
  type BenchContext,
  type ChildApp,
} from '../lib';
import { NOOP_TYPE, PLAIN_QUEUE, TARGET_RATIO } from './shared';

type Target = 'plain' | 'gate';
const targets: readonly Target[] = ['plain', 'gate'];

const labels: Record<Target, string> = {
  plain: 'plain BullMQ worker (no-op)',
  gate: 'killswitch gate (no-op executor)',
};

// Same defaults as killswitch (ACTION_MAX_ATTEMPTS, ACTION_BACKOFF_MS): same job options.
const ATTEMPTS = 3;
const BACKOFF_MS = 1000;

/** What one measured drain of the queue gave. */
interface DrainResult {
  label: string;
  jobs: number;
  /** Jobs per second from the first completion to the last. */
  overall: number;
  /** Jobs per second between the 10% and the 90% completion: no start-up, no tail. */
  steady: number;
  /** Seconds from the first completion to the last. */
  seconds: number;
  /** CPU seconds per job between the 10% and 90% marks: the worker process, Redis. */
  cpuWorker?: number;
  cpuRedis?: number;
}

const micros = (seconds: number | undefined) =>
  seconds === undefined ? 'n/a' : `${Math.round(seconds * 1e6)} µs`;

const header = ['', 'jobs/s', 'jobs/s (10-90%)', 'jobs', 'seconds', 'CPU/job: worker', 'Redis'];

function row(label: string, r: DrainResult): string[] {
  return [
    label,
    count(r.overall),
    count(r.steady),
    count(r.jobs),
    r.seconds.toFixed(2),
    micros(r.cpuWorker),
    micros(r.cpuRedis),
  ];
}

const load1 = () => loadavg()[0].toFixed(2);

async function run(ctx: BenchContext): Promise<void> {
  const { redisUrl, settings, signal, options } = ctx;
  const jobs = options.jobs;
  const agents = settings.agents;
  const concurrency = options['worker-concurrency'];
  const prefix = claimPrefix(ctx, 'actions');
  const bullPrefix = new Keys(prefix).bullPrefix();

  const hardware = await hardwareLine(redisUrl);
  const loadBefore = load1();
  const workerEnv = {
    ACTION_WORKER_CONCURRENCY: String(concurrency),
    ACTION_MAX_ATTEMPTS: String(ATTEMPTS),
    ACTION_BACKOFF_MS: String(BACKOFF_MS),
    // Every job is queued before a round starts: room for all of them, however few agents.
    ...queueRoomFor(Math.ceil(jobs / agents)),
  };
  // The API instance takes the submissions; its workers are off, so everything stays queued
  // until the worker instance of a round starts.
  ctx.log(`starting killswitch (WORKERS=off, KEY_PREFIX=${prefix})`);
  const api = await startKillswitch({
    redisUrl,
    keyPrefix: prefix,
    logLevel: settings.logLevel,
    signal,
    env: { ...workerEnv, WORKERS: 'off' },
  });
  ctx.defer('stop killswitch (API)', () => api.app.stop());
  const http = new KeepAliveClient(api.url, 64, signal);
  ctx.defer('close HTTP client', () => http.close());

  await http.expect(200, 'PUT', `/v1/action-types/${NOOP_TYPE}`, {
    token: api.adminKey,
    json: { executor: { kind: 'noop' }, reversible: false },
  });
  ctx.log(`creating ${agents} agents, each with a lease`);
  const owner = await createUser(api.admin, 'owner', 'bench-owner');
  const tokens = await inParallel(agents, 16, async (i) => {
    const agent = await http.expect<{ id: string }>(201, 'POST', '/v1/agents', {
      token: owner.apiKey,
      json: { name: `bench-agent-${i}`, allowedActions: [NOOP_TYPE] },
    });
    const lease = await http.expect<{ token: string }>(
      201,
      'POST',
      `/v1/agents/${agent.id}/leases`,
      { token: owner.apiKey, json: { ttlSeconds: 300 } },
    );
    return lease.token;
  });

  const plainQueue = new Queue(PLAIN_QUEUE, {
    connection: await harnessConnection(redisUrl),
    prefix: bullPrefix,
    // Killswitch's own job options: BullMQ does the same bookkeeping per job in both targets.
    defaultJobOptions: actionJobOptions(ATTEMPTS, BACKOFF_MS),
  });
  ctx.defer('close the plain queue', async () => {
    await plainQueue.close();
    (await plainQueue.client).disconnect();
  });

  /** Fills the target's queue with `jobs` jobs; answers how to check they all ended well. */
  async function fill(target: Target, round: number): Promise<() => Promise<string>> {
    if (target === 'plain') {
      for (let i = 0; i < jobs; i += 1000) {
        await plainQueue.addBulk(
          Array.from({ length: Math.min(1000, jobs - i) }, (_, j) => ({
            name: 'execute',
            data: { agentId: `agt_${(i + j) % agents}`, actionId: `r${round}-${i + j}` },
            opts: { jobId: `r${round}-${i + j}` },
          })),
        );
      }
      return async () => {
        const counts = await plainQueue.getJobCounts('wait', 'active', 'delayed', 'failed');
        const left = Object.values(counts).reduce((a, b) => a + b, 0);
        return left === 0 ? '' : `plain queue not drained: ${JSON.stringify(counts)}`;
      };
    }
    // Spread over every agent (round robin), so that per-agent order (one running action per
    // agent, ACTION_AGENT_CONCURRENCY=1) never starves the worker's concurrency.
    const ids = await inParallel(jobs, 64, async (i) => {
      const reply = await http.expect<{ id: string }>(202, 'POST', '/v1/actions', {
        token: tokens[i % agents],
        json: { type: NOOP_TYPE, params: { round, i } },
      });
      return reply.id;
    });
    return async () => {
      const redis = await harnessConnection(redisUrl);
      try {
        const bad = new Map<string, number>();
        for (let i = 0; i < ids.length; i += 1000) {
          const pipeline = redis.pipeline();
          for (const id of ids.slice(i, i + 1000)) {
            const agentId = /^act_([0-9a-f]+)_/.exec(id)?.[1];
            pipeline.hget(`${prefix}:{agt_${agentId}}:action:${id}`, 'status');
          }
          for (const [error, status] of (await pipeline.exec()) ?? []) {
            const s = error ? 'error' : String(status);
            if (s !== 'succeeded') {
              bad.set(s, (bad.get(s) ?? 0) + 1);
            }
          }
        }
        return bad.size === 0
          ? ''
          : `actions not succeeded: ${JSON.stringify(Object.fromEntries(bad))}`;
      } finally {
        redis.disconnect();
      }
    };
  }

  /** Starts the target's worker process on a full queue and times the drain. */
  async function drain(target: Target, profile: boolean): Promise<DrainResult> {
    // Plain jobs are counted from BullMQ's event stream. Gate actions are counted from the
    // ledger's own status events: the gate runs an agent's next actions inside the job that
    // released them, so one BullMQ completion can stand for many actions.
    const events = new QueueEvents(PLAIN_QUEUE, {
      connection: await harnessConnection(redisUrl, { blocking: true }),
      prefix: bullPrefix,
    });
    const ledgerEvents = await harnessConnection(redisUrl, { blocking: true });
    const times: number[] = [];
    const seen = new Set<string>();
    const marks: { cpu?: number; redis?: Promise<number | undefined> }[] = [];
    let worker: ChildApp | undefined;
    const low = Math.floor(jobs * 0.1);
    const high = Math.floor(jobs * 0.9);
    const completed = (jobId: string, atMs: number) => {
      if (seen.has(jobId)) {
        return;
      }
      seen.add(jobId);
      times.push(atMs);
      if (times.length === low || times.length === high) {
        marks.push({ cpu: cpuSecondsOf(worker?.pid), redis: redisCpuSeconds(redisUrl) });
      }
    };
    if (target === 'plain') {
      // The stream entry's id is Redis' clock (ms) when BullMQ recorded the completion.
      events.on('completed', ({ jobId }, id) => completed(jobId, Number(id.split('-')[0])));
    } else {
      ledgerEvents.on('message', (_channel: string, message: string) => {
        const event = JSON.parse(message) as {
          event: string;
          status?: string;
          actionId?: string;
          at?: number;
        };
        // `at` is Redis' clock (ms) when finish-action.lua recorded the success.
        if (event.event === 'action.updated' && event.status === 'succeeded' && event.actionId) {
          completed(event.actionId, Number(event.at));
        }
      });
      await ledgerEvents.subscribe(`${prefix}:events`);
    }
    try {
      await events.waitUntilReady();
      const env = {
        REDIS_URL: redisUrl,
        KEY_PREFIX: prefix,
        KILLSWITCH_PORT: String(await freePort()),
        LOG_LEVEL: settings.logLevel,
        SHUTDOWN_TIMEOUT_MS: '5000',
        ...workerEnv,
      };
      const profiling = cpuProfiling(profile ? settings.cpuProfileDir : undefined);
      worker =
        target === 'plain'
          ? await startChild({
              name: 'plain-worker',
              script: built('bench/actions/plain-worker.js'),
              nodeArgs: profiling.nodeArgs,
              env: { ...env, ...profiling.env },
            })
          : (
              await startKillswitch({
                redisUrl,
                keyPrefix: prefix,
                logLevel: settings.logLevel,
                signal,
                cpuProfileDir: profile ? settings.cpuProfileDir : undefined,
                env: { ...workerEnv, WORKERS: 'on' },
              })
            ).app;
      const running = worker;
      const drained = () =>
        waitUntil(() => seen.size >= jobs, {
          what: `${labels[target]}: ${jobs} jobs completed (${seen.size} so far)`,
          timeoutMs: 60_000 + jobs * 2,
          intervalMs: 50,
          signal,
        });
      if (profile) {
        // From the moment the worker listens (its queue is already being drained) to the end.
        profiles[target] = (await profileDuring(running, drained)).file;
      } else {
        await drained();
      }
    } finally {
      await worker?.stop();
      await events.close();
      (await events.client).disconnect();
      ledgerEvents.disconnect();
    }
    const [first, last] = [times[0], times[times.length - 1]];
    const [a, b] = marks;
    const [redisA, redisB] = [await a?.redis, await b?.redis];
    const steadyJobs = high - low;
    return {
      label: labels[target],
      jobs: times.length,
      overall: (times.length - 1) / ((last - first) / 1000),
      steady: steadyJobs / ((times[high - 1] - times[low - 1]) / 1000),
      seconds: (last - first) / 1000,
      cpuWorker:
        a?.cpu !== undefined && b?.cpu !== undefined ? (b.cpu - a.cpu) / steadyJobs : undefined,
      cpuRedis:
        redisA !== undefined && redisB !== undefined ? (redisB - redisA) / steadyJobs : undefined,
    };
  }

  const results: Record<Target, DrainResult[]> = { plain: [], gate: [] };
  const profiles: Partial<Record<Target, string>> = {};
  const rows: string[][] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    // Alternate, so that a slow spell of the shared machine hits both targets alike.
    for (const target of targets) {
      ctx.log(`round ${round}/${settings.rounds}: ${labels[target]}: queueing ${count(jobs)} jobs`);
      const verify = await fill(target, round);
      ctx.log(`round ${round}/${settings.rounds}: ${labels[target]}: draining`);
      const profile = Boolean(settings.cpuProfileDir) && round === settings.rounds;
      const result = await drain(target, profile);
      const problem = await verify();
      if (problem) {
        throw new Error(`${labels[target]}, round ${round}: ${problem}`);
      }
      results[target].push(result);
      rows.push(row(`round ${round}: ${labels[target]}`, result));
      ctx.log(`  ${count(result.overall)} jobs/s (${count(result.steady)} jobs/s at 10-90%)`);
    }
  }

  const best = (list: DrainResult[]) => list.reduce((x, y) => (y.steady > x.steady ? y : x));
  const kept = { plain: best(results.plain), gate: best(results.gate) };
  const ratio = kept.gate.steady / kept.plain.steady;
  const perRound = results.gate.map((r, i) => percent(r.steady / results.plain[i].steady));
  ctx.print(
    [
      '',
      `actions: ${count(jobs)} no-op jobs per run, worker concurrency ${concurrency} in both, ` +
        `${settings.rounds} runs per target alternating, best run kept; gate: ${agents} agents ` +
        `(round robin, 1 running action per agent), submitted over HTTP with WORKERS=off, then ` +
        `one killswitch with WORKERS=on drains them; plain: the same number of jobs added in ` +
        `bulk, drained by a bare BullMQ Worker (same connection options, same job options)`,
      `hardware: ${hardware}; load average ${loadBefore} before, ${load1()} after`,
      '',
      formatTable(header, [
        ...rows,
        row(`best: ${labels.plain}`, kept.plain),
        row(`best: ${labels.gate}`, kept.gate),
      ]),
      'jobs/s from the first completion to the last, and between the 10% and 90% completions ' +
        '(no start-up, no tail; the figure compared). Times from the BullMQ event stream ' +
        "(Redis' clock). CPU per job between those marks, of the worker process and of the whole " +
        'Redis server (shared with anything else using it).',
      'Per gate action: start-action.lua (the fence: agent status and epoch, mark running, ' +
        'history, publish), the executor, finish-action.lua (record, history, publish, release the ' +
        "agent's next action); the released action then runs in the same BullMQ job (up to 50 " +
        'in a row), so gate actions are counted from the ledg' +
        "er's status events, plain jobs " +
        "from BullMQ's.",
      '',
      `gate / plain BullMQ throughput: ${percent(ratio)} (per round: ${perRound.join(', ')}); ` +
        `target >= ${percent(TARGET_RATIO)} (gate costs at most 15%): ` +
        `${ratio >= TARGET_RATIO ? 'met' : 'NOT met'}`,
    ].join('\n'),
  );
  for (const target of targets) {
    const file = profiles[target];
    if (file) {
      ctx.print(`\n${labels[target]}, last round (profiler on):\n${summarizeProfile(file)}`);
    }
  }
}

export const benchmark: Benchmark = {
  description:
    'jobs per second through the action gate (no-op executor), beside a plain BullMQ worker',
  options: {
    jobs: {
      description: 'jobs per run (actions through the gate, or plain jobs)',
      default: 20_000,
    },
    'worker-concurrency': {
      description: 'worker concurrency of both targets (ACTION_WORKER_CONCURRENCY)',
      default: 32,
    },
  },
  estimateSeconds: (s, o) => 30 + s.agents * 0.01 + s.rounds * (o.jobs * 0.0015 + 20),
  run,
};
