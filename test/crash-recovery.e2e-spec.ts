import http from 'node:http';
import { Queue } from 'bullmq';
import { generateSecret } from '@app/auth';
import { Keys } from '@app/redis';
import { REVOCATION_QUEUE } from '@app/revocation';
import {
  agentWithLease,
  registerWebhookType,
  waitForAction,
  waitForIncident,
} from './support/factories';
import { KillswitchProcess } from './support/process';
import { deletePrefix, freePort, REDIS_URL, testPrefix, waitFor } from './support/redis';
import { json, ToolServer } from './support/tool-server';

describe('a killswitch process killed in the middle of rollbacks', () => {
  const prefix = testPrefix('crash');
  const tools = new ToolServer();
  let ks: KillswitchProcess;

  beforeAll(async () => {
    await tools.start();
    ks = new KillswitchProcess(
      {
        KEY_PREFIX: prefix,
        REDIS_URL,
        KILLSWITCH_ADMIN_KEY: generateSecret('ksk'),
        ACTION_BACKOFF_MS: '50',
      },
      await freePort(),
    );
    await ks.start();
  });

  afterAll(async () => {
    await ks?.stop();
    await tools.stop();
    await deletePrefix(prefix);
  });

  it('runs every compensation exactly once after a restart', async () => {
    await registerWebhookType(ks.admin, tools, 'doc.restore', {
      path: '/restore',
      timeoutMs: 10_000,
    });
    await registerWebhookType(ks.admin, tools, 'doc.delete', {
      path: '/delete',
      reversible: true,
      compensation: 'doc.restore',
      timeoutMs: 10_000,
    });
    tools.on('/delete', (request, response) =>
      json(response, 200, { undo: { doc: request.body.params.doc } }),
    );
    // Each compensation takes a while (far longer than the test takes to notice one started),
    // so the crash lands while the second is in flight.
    tools.on('/restore', (_request, response) => {
      setTimeout(() => json(response, 200, {}), 1000);
    });

    const { agent, asAgent: lease } = await agentWithLease(ks.admin, {
      name: 'cleaner',
      allowedActions: ['doc.delete'],
    });
    const ids: string[] = [];
    for (let doc = 1; doc <= 5; doc++) {
      ids.push((await lease.post('/v1/actions', { type: 'doc.delete', params: { doc } })).body.id);
    }
    await waitForAction(ks.admin, ids[4], { until: ['succeeded'], timeoutMs: 10_000 });

    const revoked = (
      await ks.admin.post(`/v1/agents/${agent.id}/revoke`, { reason: 'deleting docs' })
    ).body;
    await waitFor(
      () => tools.received('/restore').length === 2,
      10_000,
      'two compensations to start',
    );
    await ks.crash();

    await ks.start();
    const incident = await waitForIncident(ks.admin, revoked.incidentId, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });

    const compensated = tools.received('/restore').map((r) => r.body.compensates);
    // Never twice, whatever the crash interrupted.
    expect(new Set(compensated).size).toBe(compensated.length);
    expect(compensated.sort()).toEqual([...ids].sort());
    // Newest first: the first was done before the second was sent; the second, in flight at
    // the crash, cannot be known to have applied, so it is listed for review, not sent again;
    // the other three ran after the restart.
    expect(incident.counts).toMatchObject({ rolledBack: 4, needsReview: 1 });
    expect(incident.needsReview).toEqual([
      expect.objectContaining({ actionId: ids[3], why: expect.stringMatching(/interrupted/) }),
    ]);
    expect((await ks.admin.get(`/v1/actions/${ids[3]}`)).body.status).toBe('rollback_failed');
    // The resumed follow-up records every rollback once: the one done before the crash is not
    // written again.
    const rollbacks = incident.timeline.filter((e: { step: string }) => e.step === 'rollback');
    expect(rollbacks.map((e: { actionId: string }) => e.actionId).sort()).toEqual([...ids].sort());
  }, 120_000);

  it('hands the rollbacks over at a graceful stop, with nothing to review', async () => {
    await registerWebhookType(ks.admin, tools, 'file.restore', {
      path: '/file-restore',
      timeoutMs: 10_000,
    });
    await registerWebhookType(ks.admin, tools, 'file.delete', {
      path: '/file-delete',
      reversible: true,
      compensation: 'file.restore',
      timeoutMs: 10_000,
    });
    tools.on('/file-delete', (request, response) =>
      json(response, 200, { undo: { file: request.body.params.file } }),
    );
    // Four compensations of 2 s still to go at the stop: longer than a shutdown may wait for
    // its jobs (half of SHUTDOWN_TIMEOUT_MS, 10 s), so one would be cut mid-way if the
    // follow-up went on claiming them while its process shut down.
    tools.on('/file-restore', (_request, response) => {
      setTimeout(() => json(response, 200, {}), 2000);
    });
    const { agent, asAgent: lease } = await agentWithLease(ks.admin, {
      name: 'file-cleaner',
      allowedActions: ['file.delete'],
    });
    const ids: string[] = [];
    for (let file = 1; file <= 5; file++) {
      ids.push(
        (await lease.post('/v1/actions', { type: 'file.delete', params: { file } })).body.id,
      );
    }
    await waitForAction(ks.admin, ids[4], { until: ['succeeded'], timeoutMs: 10_000 });

    const revoked = (
      await ks.admin.post(`/v1/agents/${agent.id}/revoke`, { reason: 'deleting files' })
    ).body;
    await waitFor(
      () => tools.received('/file-restore').length === 2,
      10_000,
      'two compensations to start',
    );
    await ks.stop('SIGTERM');

    await ks.start();
    const incident = await waitForIncident(ks.admin, revoked.incidentId, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const compensated = tools.received('/file-restore').map((r) => r.body.compensates);
    expect([...compensated].sort()).toEqual([...ids].sort());
    expect(compensated).toEqual([...ids].reverse());
    expect(incident.counts).toMatchObject({ rolledBack: 5, needsReview: 0 });
    // Handed over, not failed: the follow-up used up none of its retries.
    const queue = new Queue(REVOCATION_QUEUE, {
      connection: { url: REDIS_URL },
      prefix: new Keys(prefix).bullPrefix(),
    });
    try {
      const job = await queue.getJob(`${revoked.incidentId}-${agent.id}`);
      // Its failed attempts, if any (its first start may come before its incident is written).
      const failures = [job?.failedReason ?? '', ...(job?.stacktrace ?? [])].join('\n');
      expect(failures).not.toMatch(/shutting down/);
      expect(job?.attemptsStarted).toBeGreaterThanOrEqual(2);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it('runs an action cut by a graceful stop again as the same attempt', async () => {
    // The first call never answers: the shutdown cuts it. The second answers at once.
    tools.on('/upload', (request, response) => {
      if (tools.received('/upload').length > 1) {
        json(response, 200, {});
      }
    });
    await registerWebhookType(ks.admin, tools, 'file.upload', {
      path: '/upload',
      timeoutMs: 30_000,
    });
    const { asAgent: lease } = await agentWithLease(ks.admin, {
      name: 'uploader',
      allowedActions: ['file.upload'],
    });
    const id = (await lease.post('/v1/actions', { type: 'file.upload' })).body.id as string;
    await waitFor(() => tools.received('/upload').length === 1, 10_000, 'the first call');
    await ks.stop('SIGTERM');
    await ks.start();

    const action = await waitForAction(ks.admin, id, { until: ['succeeded'], timeoutMs: 30_000 });
    // A deploy uses up none of the action's attempts.
    expect(tools.received('/upload').map((r) => r.body.attempt)).toEqual([1, 1]);
    expect(action.attempts).toBe(1);
  }, 60_000);

  it.each([
    ['keeps sending requests', true],
    ['goes quiet after it', false],
  ])(
    'stops gracefully with a request under way on a kept-alive connection whose client %s',
    async (_case, keepsSending) => {
      // A load balancer's pool, an agent's heartbeats: requests on a kept-alive connection.
      // socket.io's close, the first step of the app's, waits for the last connection to end:
      // one kept open (busy, or idle after an answer that kept it alive) held the shutdown
      // until SHUTDOWN_TIMEOUT_MS cut it short.
      const pool = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const body = JSON.stringify({ name: 'busy', allowedActions: [] });
      const post = () => {
        const request = http.request(`${ks.url}/v1/agents`, {
          method: 'POST',
          agent: pool,
          headers: {
            authorization: `Bearer ${ks.env.KILLSWITCH_ADMIN_KEY}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        });
        const answered = new Promise<http.IncomingMessage | undefined>((resolve) => {
          request.on('response', (response) =>
            response.resume().on('end', () => resolve(response)),
          );
          request.on('error', () => setTimeout(() => resolve(undefined), 10));
        });
        return { request, answered };
      };
      try {
        // Under way as the shutdown begins (its body still coming): the server's close, which
        // ends idle connections only, leaves it open.
        const first = post();
        first.request.write(body.slice(0, 5));
        await new Promise((resolve) => setTimeout(resolve, 300));
        let ended = false;
        const stopped = ks.stop('SIGTERM').finally(() => (ended = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        first.request.end(body.slice(5));
        const answer = await first.answered;
        expect(answer?.statusCode).toBe(201);
        expect(answer?.headers.connection).toBe('close');
        while (keepsSending && !ended) {
          const next = post();
          next.request.end(body);
          await next.answered;
        }
        // Ended by its shutdown hooks (which re-raise the signal), not cut off by
        // SHUTDOWN_TIMEOUT_MS (which exits 1).
        expect(await stopped).toEqual({ code: null, signal: 'SIGTERM' });
      } finally {
        pool.destroy();
        await ks.start();
      }
    },
    30_000,
  );

  it("finishes an agent's queue after a crash in the middle of it, in order", async () => {
    await registerWebhookType(ks.admin, tools, 'doc.index', { path: '/index', timeoutMs: 10_000 });
    tools.on('/index', (_request, response) => {
      setTimeout(() => json(response, 200, {}), 300);
    });
    const { asAgent: lease } = await agentWithLease(ks.admin, {
      name: 'indexer',
      allowedActions: ['doc.index'],
    });
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) {
      ids.push((await lease.post('/v1/actions', { type: 'doc.index', params: { n } })).body.id);
    }
    await waitFor(() => tools.received('/index').length >= 2, 10_000, 'two actions to start');
    await ks.crash();
    await ks.start();
    for (const id of ids) {
      await waitForAction(ks.admin, id, {
        until: ['succeeded'],
        timeoutMs: 60_000,
        intervalMs: 200,
      });
    }
    // In order, each at least once (the one cut off by the crash may run again).
    const firsts = [...new Set(tools.received('/index').map((r) => r.body.params.n as number))];
    expect(firsts).toEqual([0, 1, 2, 3, 4, 5]);
  }, 120_000);
});
