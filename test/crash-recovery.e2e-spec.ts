import { generateSecret } from '@app/auth';
import { Api } from './support/http';
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
    const type = (path: string, extra: Record<string, unknown> = {}) => ({
      executor: {
        kind: 'webhook',
        url: `${tools.url}${path}`,
        secret: tools.secret,
        timeoutMs: 10_000,
      },
      reversible: false,
      ...extra,
    });
    expect((await ks.admin.put('/v1/action-types/doc.restore', type('/restore'))).status).toBe(200);
    await ks.admin.put(
      '/v1/action-types/doc.delete',
      type('/delete', { reversible: true, compensation: 'doc.restore' }),
    );
    tools.on('/delete', (request, response) =>
      json(response, 200, { undo: { doc: request.body.params.doc } }),
    );
    // Each compensation takes a while (far longer than the test takes to notice one started),
    // so the crash lands while the second is in flight.
    tools.on('/restore', (_request, response) => {
      setTimeout(() => json(response, 200, {}), 1000);
    });

    const agent = (
      await ks.admin.post('/v1/agents', { name: 'cleaner', allowedActions: ['doc.delete'] })
    ).body;
    const lease = new Api(
      ks.url,
      (await ks.admin.post(`/v1/agents/${agent.id}/leases`, {})).body.token,
    );
    const ids: string[] = [];
    for (let doc = 1; doc <= 5; doc++) {
      ids.push((await lease.post('/v1/actions', { type: 'doc.delete', params: { doc } })).body.id);
    }
    await waitFor(
      async () => (await ks.admin.get(`/v1/actions/${ids[4]}`)).body.status === 'succeeded',
      10_000,
      'the deletes',
    );

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
    let incident: any;
    await waitFor(
      async () => {
        incident = (await ks.admin.get(`/v1/incidents/${revoked.incidentId}`)).body;
        return incident.status === 'done';
      },
      60_000,
      'the follow-up to finish after the restart',
      200,
    );

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
  }, 120_000);

  it("finishes an agent's queue after a crash in the middle of it, in order", async () => {
    await ks.admin.put('/v1/action-types/doc.index', {
      executor: {
        kind: 'webhook',
        url: `${tools.url}/index`,
        secret: tools.secret,
        timeoutMs: 10_000,
      },
      reversible: false,
    });
    tools.on('/index', (_request, response) => {
      setTimeout(() => json(response, 200, {}), 300);
    });
    const agent = (
      await ks.admin.post('/v1/agents', { name: 'indexer', allowedActions: ['doc.index'] })
    ).body;
    const lease = new Api(
      ks.url,
      (await ks.admin.post(`/v1/agents/${agent.id}/leases`, {})).body.token,
    );
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) {
      ids.push((await lease.post('/v1/actions', { type: 'doc.index', params: { n } })).body.id);
    }
    await waitFor(() => tools.received('/index').length >= 2, 10_000, 'two actions to start');
    await ks.crash();
    await ks.start();
    for (const id of ids) {
      await waitFor(
        async () => (await ks.admin.get(`/v1/actions/${id}`)).body.status === 'succeeded',
        60_000,
        `action ${id} to succeed after the restart`,
        200,
      );
    }
    // In order, each at least once (the one cut off by the crash may run again).
    const firsts = [...new Set(tools.received('/index').map((r) => r.body.params.n as number))];
    expect(firsts).toEqual([0, 1, 2, 3, 4, 5]);
  }, 120_000);
});
