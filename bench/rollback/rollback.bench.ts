import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ACTIONS_QUEUE } from '@app/actions';
import {
  claimPrefix,
  commandStats,
  commandStatsBetween,
  count,
  createLeasedAgents,
  createUser,
  fineMs,
  formatTable,
  hardwareLine,
  harnessQueues,
  inParallel,
  KeepAliveClient,
  queueRoomFor,
  startApiAndWorkers,
  startProfiling,
  summarizeProfile,
  waitUntil,
  watchSlowlog,
  withRedis,
  type Benchmark,
  type BenchContext,
  type SlowCommand,
} from '../lib';

const DO_TYPE = 'bench.do';
const UNDO_TYPE = 'bench.undo';
const TOOL_SECRET = 'bench-rollback-tool-secret';
const TARGET_SLOWLOG_MICROS = 10_000;
/** How often a progress line is printed while the actions run and while they are undone. */
const PROGRESS_EVERY_MS = 5000;
/** How long the count may stand still before the run is called stuck. */
const STALL_MS = 60_000;

const load1 = () => loadavg()[0].toFixed(2);

/** One request the tool server received. */
interface Received {
  agentId: string;
  k: number;
  compensates?: string;
}

/**
 * The tool server the two webhooks point at, in the harness process: `/do` answers at once
 * with an `undo` naming the action's `k`, `/undo` answers at once; both record what came, in
 * order of arrival.
 */
async function startToolServer() {
  const received = { do: [] as Received[], undo: [] as Received[] };
  const sockets = new Set<NetSocket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
        agentId: string;
        params: { k: number };
        compensates?: string;
      };
      const entry = { agentId: body.agentId, k: body.params?.k, compensates: body.compensates };
      const undo = req.url === '/undo';
      (undo ? received.undo : received.do).push(entry);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(undo ? { result: { undone: true } } : { result: {}, undo: { k: entry.k } }),
      );
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

async function run(ctx: BenchContext): Promise<void> {
  const { redisUrl, settings, signal, options } = ctx;
  const fleet = options.agents;
  const perAgent = options['actions-per-agent'];
  const total = fleet * perAgent;
  const prefix = claimPrefix(ctx, 'rollback');

  const hardware = await hardwareLine(redisUrl);
  const loadBefore = load1();
  const tool = await startToolServer();
  ctx.defer('stop the tool server', () => tool.stop());
  // The workers instance runs the actions and the follow-up: its CPU is what both phases cost.
  const { api, workers } = await startApiAndWorkers(ctx, prefix, queueRoomFor(perAgent));

  const client = new KeepAliveClient(api.url, 48, signal);
  ctx.defer('close HTTP clients', () => client.close());
  const webhook = (path: string) => ({
    kind: 'webhook',
    url: `${tool.url}${path}`,
    secret: TOOL_SECRET,
  });
  await client.expect(200, 'PUT', `/v1/action-types/${UNDO_TYPE}`, {
    token: api.adminKey,
    json: { executor: webhook('/undo'), reversible: false },
  });
  await client.expect(200, 'PUT', `/v1/action-types/${DO_TYPE}`, {
    token: api.adminKey,
    json: { executor: webhook('/do'), reversible: true, compensation: UNDO_TYPE },
  });
  const owner = await createUser(api.admin, 'owner', 'bench-owner');
  const responder = await createUser(api.admin, 'responder', 'bench-responder');

  const [actionsQueue] = await harnessQueues(ctx, prefix, ACTIONS_QUEUE);
  // Submitted while paused, then let go at once: the forward run is timed from the resume,
  // without the submissions' HTTP in it.
  await actionsQueue.pause();

  ctx.log(
    `creating ${count(fleet)} agents (label bench=true), each with a lease and ${perAgent} ` +
      `actions of ${DO_TYPE} (${count(total)} in all)`,
  );
  const setupStarted = performance.now();
  const agents = await createLeasedAgents(owner.api, {
    count: fleet,
    concurrency: 48,
    // The longest a lease may live: the actions start only while it does.
    ttlSeconds: 300,
    allowedActions: [DO_TYPE],
  });
  await inParallel(fleet, 48, async (i) => {
    for (let k = 0; k < perAgent; k++) {
      await client.expect(202, 'POST', '/v1/actions', {
        token: agents[i].token,
        json: { type: DO_TYPE, params: { k } },
      });
    }
  });
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  ctx.log(`  set up in ${setupSeconds.toFixed(1)} s`);

  /**
   * Polls until `done`, with a progress line every few seconds; fails, saying `stalled`, once
   * nothing has moved for {@link STALL_MS}.
   */
  const progress = (
    what: string,
    stalled: () => string,
    done: () => Promise<[number, boolean]>,
  ) => {
    let lastLine = performance.now();
    let last = -1;
    let movedAt = performance.now();
    return waitUntil(
      async () => {
        const [n, finished] = await done();
        const now = performance.now();
        if (n !== last) {
          [last, movedAt] = [n, now];
        } else if (!finished && now - movedAt > STALL_MS) {
          throw new Error(
            `${count(n)} of ${count(total)} ${what}, and no more for ${STALL_MS / 1000} s: ${stalled()}`,
          );
        }
        if (!finished && now - lastLine > PROGRESS_EVERY_MS) {
          lastLine = now;
          ctx.log(`  ${count(n)} of ${count(total)} ${what}`);
        }
        return finished;
      },
      { what, timeoutMs: 600_000, intervalMs: 50, signal },
    );
  };

  // ---------------------------------------------------------------- the actions, done
  ctx.log(`running the ${count(total)} actions (the baseline: doing what is then undone)`);
  const cpuBeforeDo = workers.app.cpuSeconds();
  const doStarted = performance.now();
  await actionsQueue.resume();
  await progress(
    'actions done',
    () =>
      'actions start only under a live lease, and the leases (300 s) may have run out: ' +
      'try fewer --agents or --actions-per-agent',
    async () => {
      const n = tool.received.do.length;
      if (n < total) {
        return [n, false];
      }
      // The tool server answered the last one: done once the queue holds nothing (the worker
      // writes the ledger before its job completes).
      const jobs = await actionsQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      return [n, Object.values(jobs).every((c) => c === 0)];
    },
  );
  const doMs = performance.now() - doStarted;
  const cpuDo = (workers.app.cpuSeconds() ?? NaN) - (cpuBeforeDo ?? NaN);

  // ---------------------------------------------------------------- the stop, and its rollback
  const slowlog = await watchSlowlog(redisUrl, TARGET_SLOWLOG_MICROS);
  ctx.defer('restore slowlog-log-slower-than', () => slowlog.restore());
  ctx.log(`revoking bench=true: ${count(total)} compensations to run`);
  const stopProfile = settings.cpuProfileDir ? startProfiling(workers.app) : undefined;
  const statsBefore = await commandStats(redisUrl);
  const cpuBeforeUndo = workers.app.cpuSeconds();
  const bulk = await client.send<{ incidentId: string; agents: number }>(
    'POST',
    '/v1/revocations',
    {
      token: responder.apiKey,
      json: { selector: { labels: { bench: 'true' } }, reason: 'bench: rollback' },
      timeoutMs: 60_000,
    },
  );
  if (bulk.status !== 200 || bulk.body.agents !== fleet) {
    throw new Error(
      `bulk revoke answered ${bulk.status}: ${JSON.stringify(bulk.body).slice(0, 300)}`,
    );
  }
  const incidentKey = `${prefix}:{${bulk.body.incidentId}}:incident`;
  let state: (string | null)[] = [];
  const workersOutput = () => `the workers instance's last lines:\n${workers.app.output()}`;
  await progress('compensations run', workersOutput, async () => {
    state = await withRedis(redisUrl, (redis) =>
      redis.hmget(incidentKey, 'status', 'rolledBack', 'openedAt', 'doneAt'),
    );
    return [tool.received.undo.length, state[0] === 'done'];
  });
  const undoMs = performance.now() - bulk.sentAt;
  const cpuUndo = (workers.app.cpuSeconds() ?? NaN) - (cpuBeforeUndo ?? NaN);
  const redisDuringUndo = commandStatsBetween(statsBefore, await commandStats(redisUrl));
  const profile = await stopProfile?.();
  const slow = (await slowlog.read(50)).filter(
    (e: SlowCommand) => e.client.includes(prefix) || e.command.includes(prefix),
  );
  await slowlog.restore();
  const incident = await client.expect<{
    status: string;
    counts: { rolledBack: number; needsReview: number };
  }>(200, 'GET', `/v1/incidents/${bulk.body.incidentId}?timeline=0&review=5&agents=0`, {
    token: responder.apiKey,
    timeoutMs: 30_000,
  });

  // Every action undone once, each agent's newest first.
  const undone = tool.received.undo;
  const twice = undone.length - new Set(undone.map((u) => u.compensates)).size;
  const byAgent = new Map<string, number[]>();
  for (const u of undone) {
    byAgent.set(u.agentId, [...(byAgent.get(u.agentId) ?? []), u.k]);
  }
  const outOfOrder = [...byAgent.values()].filter((ks) =>
    ks.some((k, i) => k !== perAgent - 1 - i),
  ).length;
  const redisMicros = redisDuringUndo.reduce((sum, c) => sum + c.micros, 0);
  const perMs = (ms: number) => `${count(Math.round((total / ms) * 1000))}/s`;
  const cpuPer = (seconds: number) => `${((seconds * 1e6) / total).toFixed(0)} µs`;

  ctx.print(
    [
      '',
      `rollback: ${count(fleet)} agents (label bench=true), each with ${perAgent} succeeded ` +
        `reversible actions (${DO_TYPE}, a webhook to a tool server in the harness that answers ` +
        `at once); one POST /v1/revocations (rollback: the revoked epoch, the default) runs ` +
        `${count(total)} compensations (${UNDO_TYPE}), each agent's newest first; set up over ` +
        `HTTP in ${setupSeconds.toFixed(1)} s`,
      `hardware: ${hardware}; all on the same machine; load average ${loadBefore} before, ` +
        `${load1()} after`,
      '',
      formatTable(
        ['', 'time', 'rate', 'workers CPU per action', ''],
        [
          [
            `baseline: the ${count(total)} actions done (queue resumed to last done)`,
            fineMs(doMs),
            perMs(doMs),
            cpuPer(cpuDo),
            '',
          ],
          [
            `all ${count(total)} rolled back (call sent to incident done)`,
            fineMs(undoMs),
            perMs(undoMs),
            cpuPer(cpuUndo),
            `${(undoMs / doMs).toFixed(1)}x the baseline`,
          ],
          [
            '  the same, by the incident (doneAt - openedAt)',
            fineMs(Number(state[3]) - Number(state[2])),
            '',
            '',
            '',
          ],
        ],
      ),
      `Redis CPU during the rollback: ${fineMs(redisMicros / 1000)} in all, ` +
        `${(redisMicros / total).toFixed(0)} µs per compensation; the costliest commands ` +
        '(a script counts its commands again on their own lines):',
      ...redisDuringUndo
        .slice(0, 8)
        .map(
          (c) =>
            `  ${c.command.padEnd(10)} ${count(c.calls).padStart(8)} calls  ` +
            `${(c.calls / total).toFixed(1).padStart(5)} per compensation  ${fineMs(c.micros / 1000)}`,
        ),
      `incident ${incident.status}, counts rolledBack ${count(incident.counts.rolledBack)}, ` +
        `needsReview ${count(incident.counts.needsReview)}; the tool server received ` +
        `${count(undone.length)} compensations, ${twice} more than once, ${outOfOrder} agents ` +
        'not newest first',
      `killswitch commands over ${TARGET_SLOWLOG_MICROS / 1000} ms (SLOWLOG): ` +
        (slow.length === 0
          ? 'none'
          : slow.map((e) => `${(e.micros / 1000).toFixed(1)} ms ${e.command}`).join('; ')),
      ...(profile
        ? ['', `workers instance, during the rollback, ${summarizeProfile(profile)}`]
        : []),
    ].join('\n'),
  );
  const failures = [
    incident.counts.rolledBack !== total &&
      `rolledBack ${incident.counts.rolledBack}, expected ${total}`,
    incident.counts.needsReview !== 0 && `${incident.counts.needsReview} need review, expected 0`,
    undone.length !== total && `${undone.length} compensations received, expected ${total}`,
    twice > 0 && `${twice} compensations received more than once`,
    outOfOrder > 0 && `${outOfOrder} agents' compensations not newest first`,
  ].filter(Boolean);
  if (failures.length > 0) {
    throw new Error(`the figures do not count: ${failures.join('; ')}`);
  }
}

export const benchmark: Benchmark = {
  description:
    'rollback: a bulk stop of agents that each did reversible actions, until every one is undone, against doing them',
  options: {
    agents: { description: 'agents of the bulk stop', default: 1000 },
    'actions-per-agent': {
      description: 'reversible actions each agent did, each undone by the stop',
      default: 10,
    },
  },
  estimateSeconds: (_s, o) => 60 + o.agents * 0.02 + o.agents * o['actions-per-agent'] * 0.005,
  run,
};
