import { loadavg } from 'node:os';
import {
  claimPrefix,
  Api,
  built,
  count,
  cpuProfiling,
  createLeasedAgents,
  createUser,
  formatTable,
  freePort,
  hardwareLine,
  inParallel,
  ms,
  percent,
  profileDuring,
  redisCpuSeconds,
  runLoad,
  setKey,
  startChild,
  startKillswitch,
  summarizeProfile,
  type Benchmark,
  type BenchContext,
  type ChildApp,
  type LoadOptions,
  type LoadResult,
} from '../lib';
import { BASELINE_PATH, baselineKey, HEARTBEAT_PATH, TARGET_RATIO } from './shared';

type Target = 'baseline' | 'heartbeat';
const targets: readonly Target[] = ['baseline', 'heartbeat'];

const labels: Record<Target, string> = {
  baseline: 'baseline (Nest+Fastify, 1 GET)',
  heartbeat: 'killswitch heartbeat',
};

const header = [
  '',
  'req/s',
  'p50',
  'p99',
  'mean',
  'requests',
  'non-2xx',
  'CPU: app',
  'Redis',
  'load gen',
];

/** Microseconds of CPU per request, from a per-request value in seconds. */
const micros = (seconds: number | undefined) =>
  seconds === undefined ? 'n/a' : `${Math.round(seconds * 1e6)} µs`;

function row(label: string, result: LoadResult): string[] {
  return [
    label,
    count(result.requestsPerSecond),
    ms(result.p50),
    ms(result.p99),
    `${result.average.toFixed(1)} ms`,
    count(result.total),
    count(result.failed),
    micros(result.perRequest.app),
    micros(result.perRequest.redis),
    micros(result.perRequest.loadgen),
  ];
}

const best = (results: LoadResult[]) =>
  results.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));

const load1 = () => loadavg()[0].toFixed(2);

async function run(ctx: BenchContext): Promise<void> {
  const { redisUrl, settings, signal } = ctx;
  const prefix = claimPrefix(ctx, 'heartbeat');

  const hardware = await hardwareLine(redisUrl);
  const loadBefore = load1();
  ctx.log(`starting killswitch and the baseline (KEY_PREFIX=${prefix})`);
  const killswitch = await startKillswitch({
    redisUrl,
    keyPrefix: prefix,
    logLevel: settings.logLevel,
    cpuProfileDir: settings.cpuProfileDir,
    signal,
  });
  ctx.defer('stop killswitch', () => killswitch.app.stop());
  await setKey(redisUrl, baselineKey(prefix), new Date().toISOString());
  const profiling = cpuProfiling(settings.cpuProfileDir);
  const baseline = await startChild({
    name: 'baseline',
    script: built('bench/heartbeat/baseline.js'),
    nodeArgs: profiling.nodeArgs,
    env: {
      ...profiling.env,
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      KILLSWITCH_PORT: String(await freePort()),
    },
  });
  ctx.defer('stop baseline', () => baseline.stop());
  const servers: Record<Target, ChildApp> = { baseline, heartbeat: killswitch.app };

  ctx.log(`creating ${settings.agents} agents, each with a lease`);
  const owner = await createUser(killswitch.admin, 'owner', 'bench-owner');
  const agents = await createLeasedAgents(owner.api, { count: settings.agents, ttlSeconds: 300 });
  const tokens = agents.map((agent) => agent.token);

  // Both endpoints must answer 200 before anything is measured: a fast 401 is no heartbeat.
  const anonymous = new Api(killswitch.url, undefined, signal);
  await inParallel(tokens.length, 16, (i) => anonymous.as(tokens[i]).expect(200, HEARTBEAT_PATH));
  await new Api(baseline.url, undefined, signal).expect(200, BASELINE_PATH);

  // The same load on both: same connections and the same request as the agent SDK sends
  // (POST, JSON `{}`, one of the lease tokens as bearer), so that only the server differs.
  const load = (target: Target): LoadOptions => ({
    label: labels[target],
    url: servers[target].url,
    path: target === 'baseline' ? BASELINE_PATH : HEARTBEAT_PATH,
    headers: { accept: 'application/json' },
    body: '{}',
    bearerTokens: tokens,
    connections: settings.connections,
    duration: settings.duration,
    warmup: settings.warmup,
    signal,
    probes: {
      app: () => servers[target].cpuSeconds(),
      redis: () => redisCpuSeconds(redisUrl),
      // autocannon runs in this process, which does nothing else meanwhile.
      loadgen: () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      },
    },
  });

  const results: Record<Target, LoadResult[]> = { baseline: [], heartbeat: [] };
  const rows: string[][] = [];
  const profiles: Partial<Record<Target, string>> = {};
  for (let round = 1; round <= settings.rounds; round++) {
    // Alternate, so that a slow spell of the shared machine hits both targets alike.
    for (const target of targets) {
      ctx.log(`round ${round}/${settings.rounds}: ${labels[target]}`);
      let result: LoadResult;
      if (settings.cpuProfileDir && round === settings.rounds) {
        // Profiling slows the server down: only in the last round.
        const profiled = await profileDuring(servers[target], () => runLoad(load(target)));
        result = profiled.result;
        profiles[target] = profiled.file;
      } else {
        result = await runLoad(load(target));
      }
      results[target].push(result);
      ctx.log(
        `  ${count(result.requestsPerSecond)} req/s, p50 ${ms(result.p50)}, p99 ${ms(result.p99)}`,
      );
      rows.push(row(`round ${round}: ${labels[target]}`, result));
    }
  }

  const kept = { baseline: best(results.baseline), heartbeat: best(results.heartbeat) };
  const ratio = kept.heartbeat.requestsPerSecond / kept.baseline.requestsPerSecond;
  const perRound = results.heartbeat.map(
    (result, i) => result.requestsPerSecond / results.baseline[i].requestsPerSecond,
  );
  const verdict = ratio >= TARGET_RATIO ? 'met' : 'NOT met';
  const profiled = settings.cpuProfileDir ? ' (CPU profiler on in the last round)' : '';
  ctx.print(
    [
      '',
      `heartbeat: ${settings.agents} agents with a lease, ${settings.connections} connections, ` +
        `${settings.rounds} x ${settings.duration} s per target after ${settings.warmup} s ` +
        `warm-up, best run kept; killswitch LOG_LEVEL=${settings.logLevel}${profiled}`,
      `hardware: ${hardware}; load generator on the same machine; ` +
        `load average ${loadBefore} before, ${load1()} after`,
      '',
      formatTable(header, [
        ...rows,
        row(`best: ${labels.baseline}`, kept.baseline),
        row(`best: ${labels.heartbeat}`, kept.heartbeat),
      ]),
      'CPU: CPU time per request answered, of the server process (app), of the whole Redis ' +
        'server (shared with anything else using it) and of the load generator',
      '',
      `heartbeat / baseline throughput: ${percent(ratio)} (per round: ` +
        `${perRound.map(percent).join(', ')}); target >= ${percent(TARGET_RATIO)}: ${verdict}`,
      `p99 latency: heartbeat ${ms(kept.heartbeat.p99)}, baseline ${ms(kept.baseline.p99)}`,
    ].join('\n'),
  );
  for (const target of targets) {
    const file = profiles[target];
    if (file) {
      ctx.print(`\n${labels[target]}, last round:\n${summarizeProfile(file)}`);
    }
  }

  const failed = [...results.baseline, ...results.heartbeat].filter((r) => r.failed > 0);
  if (failed.length > 0) {
    throw new Error(
      `some requests failed, so the figures do not count: ${failed
        .map((r) => `${r.label}: ${r.failed} (${JSON.stringify(r.statusCodes)})`)
        .join('; ')}`,
    );
  }
}

export const benchmark: Benchmark = {
  description:
    'heartbeats per second on one killswitch process, beside a bare Nest+Fastify endpoint doing one Redis GET',
  estimateSeconds: (s) => 20 + s.agents * 0.02 + s.rounds * 2 * (s.warmup + s.duration),
  run,
};
