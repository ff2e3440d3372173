import { createServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { Keys } from '@app/redis';
import { RunningApp, TestDeployment } from './support/apps';
import {
  agentWithLease,
  createUser,
  registerWebhookType,
  retireAgent,
  waitForAction,
} from './support/factories';
import { Api } from './support/http';
import { REDIS_URL, waitFor } from './support/redis';
import { json, ToolServer } from './support/tool-server';

describe('the action gate', () => {
  const deployment = new TestDeployment({ actionBackoffMs: 50, actionMaxAttempts: 3 });
  let ks: RunningApp;
  const tools = new ToolServer();
  const keys = new Keys(deployment.config.keyPrefix);
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await tools.start();
    ks = await deployment.killswitch();
    await registerWebhookType(ks.admin, tools, 'email.unarchive', { path: '/unarchive' });
    await registerWebhookType(ks.admin, tools, 'email.archive', {
      path: '/archive',
      reversible: true,
      compensation: 'email.unarchive',
    });
  });

  afterAll(async () => {
    redis?.disconnect();
    await deployment.close();
    await tools.stop();
  });

  /** An agent that may perform `allowedActions`; `lease` carries a token that outlasts any test. */
  async function worker(allowedActions: string[]) {
    const { agent, asAgent } = await agentWithLease(ks.admin, { allowedActions, ttlSeconds: 120 });
    return { id: agent.id, lease: asAgent };
  }

  it('runs a submitted action through a signed webhook and stores its undo', async () => {
    tools.on('/archive', (request, response) =>
      json(response, 200, {
        result: { archived: request.body.params.messageId },
        undo: { messageId: request.body.params.messageId },
      }),
    );
    const { id: agentId, lease } = await worker(['email.archive']);
    const submitted = await lease.post('/v1/actions', {
      type: 'email.archive',
      params: { messageId: 'm-1' },
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toEqual({ id: expect.stringMatching(/^act_/), status: 'queued' });

    const action = await waitForAction(ks.admin, submitted.body.id);
    expect(action).toMatchObject({
      id: submitted.body.id,
      agentId,
      type: 'email.archive',
      status: 'succeeded',
      params: { messageId: 'm-1' },
      result: { archived: 'm-1' },
      undo: { messageId: 'm-1' },
    });
    expect(action.history.map((h: { status: string }) => h.status)).toEqual([
      'queued',
      'running',
      'succeeded',
    ]);
    const request = tools.received('/archive').find((r) => r.body.actionId === submitted.body.id);
    expect(request).toBeDefined();
    expect(request!.signatureValid).toBe(true);
    expect(request!.body).toEqual({
      actionId: submitted.body.id,
      agentId,
      type: 'email.archive',
      params: { messageId: 'm-1' },
      attempt: 1,
    });
    // The agent reads its own action; the ledger lists it.
    expect((await lease.get(`/v1/actions/${submitted.body.id}`)).status).toBe(200);
    const ledger = await ks.admin.get(`/v1/agents/${agentId}/actions`);
    expect(ledger.body.items.map((a: { id: string }) => a.id)).toEqual([submitted.body.id]);
    // A full page that is the last has no cursor to an empty one.
    expect((await ks.admin.get(`/v1/agents/${agentId}/actions?limit=1`)).body).toEqual({
      items: [expect.objectContaining({ id: submitted.body.id })],
      nextCursor: null,
    });
  });

  it("keeps a deleted agent's actions for responders and admins, and tells its owner so", async () => {
    tools.on('/archive', (_request, response) => json(response, 200, { result: { ok: true } }));
    const owner = await createUser(ks, 'owner');
    const responder = await createUser(ks, 'responder');
    const { agent, asAgent } = await agentWithLease(owner.api, {
      allowedActions: ['email.archive'],
    });
    const id = (await asAgent.post('/v1/actions', { type: 'email.archive', params: {} })).body
      .id as string;
    await waitForAction(owner.api, id);
    await retireAgent(owner.api, agent.id);
    expect((await owner.api.delete(`/v1/agents/${agent.id}`)).status).toBe(200);

    for (const api of [responder.api, ks.admin]) {
      expect((await api.get(`/v1/actions/${id}`)).body).toMatchObject({ id, agentId: agent.id });
      const ledger = (await api.get(`/v1/agents/${agent.id}/actions`)).body;
      expect(ledger.items.map((a: { id: string }) => a.id)).toEqual([id]);
    }
    // An id no agent ever had is not an agent that did nothing.
    const unknown = await responder.api.get('/v1/agents/agt_0000000000000000/actions');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe('Agent agt_0000000000000000 not found');
    for (const path of [`/v1/actions/${id}`, `/v1/agents/${agent.id}/actions`]) {
      const reply = await owner.api.get(path);
      expect(reply.status).toBe(404);
      expect(reply.body.message).toBe(
        `Agent ${agent.id} not found: if it was deleted, its actions are kept, and responders ` +
          'and admins may read them',
      );
    }
  });

  it("runs one agent's actions one at a time, in submission order", async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let overlap = false;
    tools.on('/ordered', async (request, response) => {
      inFlight++;
      overlap ||= inFlight > 1;
      seen.push(request.body.params.n);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      json(response, 200, {});
    });
    await registerWebhookType(ks.admin, tools, 'test.ordered', { path: '/ordered' });
    const { lease } = await worker(['test.ordered']);
    const ids: string[] = [];
    for (let n = 0; n < 10; n++) {
      ids.push((await lease.post('/v1/actions', { type: 'test.ordered', params: { n } })).body.id);
    }
    await waitForAction(ks.admin, ids[ids.length - 1]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(overlap).toBe(false);
  });

  it('halts every queued action when the agent is revoked behind a slow one', async () => {
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    tools.on('/slow', async (_request, response) => {
      await slowGate;
      json(response, 200, {});
    });
    await registerWebhookType(ks.admin, tools, 'test.slow', { path: '/slow', timeoutMs: 20_000 });
    const { id: agentId, lease } = await worker(['test.slow']);
    const first = (await lease.post('/v1/actions', { type: 'test.slow', params: { n: 0 } })).body
      .id;
    const queued: string[] = [];
    for (let n = 1; n <= 50; n++) {
      queued.push((await lease.post('/v1/actions', { type: 'test.slow', params: { n } })).body.id);
    }
    await waitFor(() => tools.received('/slow').length === 1, 10_000, 'the slow action to start');

    const revoke = await ks.admin.post(`/v1/agents/${agentId}/revoke`, { reason: 'runaway' });
    expect(revoke.status).toBe(200);
    releaseSlow();

    for (const id of queued) {
      const action = await waitForAction(ks.admin, id);
      expect(action.status).toBe('halted');
    }
    await waitForAction(ks.admin, first);
    expect(tools.received('/slow').map((r) => r.body.params.n)).toEqual([0]);
  });

  it('never starts an action after the revoke call returned (submit/revoke races)', async () => {
    await registerWebhookType(ks.admin, tools, 'test.race', { path: '/race' });
    const rounds = 200;
    const checks: { agentId: string; actionId?: string }[] = [];
    for (let round = 0; round < rounds; round++) {
      const { id: agentId, lease } = await worker(['test.race']);
      const [submitted, revoked] = await Promise.all([
        lease.post('/v1/actions', { type: 'test.race', params: { round } }),
        ks.admin.post(`/v1/agents/${agentId}/revoke`, { reason: 'race' }),
      ]);
      expect(revoked.status).toBe(200);
      expect([202, 401]).toContain(submitted.status);
      checks.push({ agentId, actionId: submitted.status === 202 ? submitted.body.id : undefined });
    }
    // Let anything that was going to run, run.
    for (const { actionId } of checks) {
      if (actionId) {
        await waitForAction(ks.admin, actionId);
      }
    }
    let executed = 0;
    for (const request of tools.received('/race')) {
      executed++;
      const action = (await ks.admin.get(`/v1/actions/${request.body.actionId}`)).body;
      const agent = (await ks.admin.get(`/v1/agents/${request.body.agentId}`)).body;
      // Both times come from Redis' clock; start and fence are serialized by Redis.
      expect(Date.parse(action.startedAt)).toBeLessThanOrEqual(Date.parse(agent.revokedAt));
    }
    // Every submitted action that did not reach the tool server ended halted.
    for (const { actionId } of checks) {
      if (actionId && !tools.received('/race').some((r) => r.body.actionId === actionId)) {
        expect((await ks.admin.get(`/v1/actions/${actionId}`)).body.status).toBe('halted');
      }
    }
    expect(executed).toBeLessThanOrEqual(rounds);
    // And none ran twice.
    const ran = tools.received('/race').map((r) => r.body.actionId);
    expect(new Set(ran).size).toBe(ran.length);
  });

  it('returns the first action for a retried idempotency key and runs it once', async () => {
    await registerWebhookType(ks.admin, tools, 'test.idem', { path: '/idem' });
    const { lease } = await worker(['test.idem']);
    const body = { type: 'test.idem', params: { x: 1 }, idempotencyKey: 'key-1' };
    const [a, b] = await Promise.all([
      lease.post('/v1/actions', body),
      lease.post('/v1/actions', body),
    ]);
    const c = await lease.post('/v1/actions', body);
    expect(new Set([a.body.id, b.body.id, c.body.id]).size).toBe(1);
    await waitForAction(ks.admin, a.body.id);
    expect(tools.received('/idem')).toHaveLength(1);
  });

  it('retries a tool server that fails, then succeeds', async () => {
    let calls = 0;
    tools.on('/flaky', (_request, response) => {
      calls++;
      if (calls < 3) {
        json(response, 503, { error: 'try later' });
      } else {
        json(response, 200, { result: { calls } });
      }
    });
    await registerWebhookType(ks.admin, tools, 'test.flaky', { path: '/flaky' });
    const { lease } = await worker(['test.flaky']);
    const id = (await lease.post('/v1/actions', { type: 'test.flaky', params: {} })).body.id;
    const action = await waitForAction(ks.admin, id);
    expect(action).toMatchObject({ status: 'succeeded', attempts: 3, result: { calls: 3 } });
    expect(action.history.map((h: { status: string }) => h.status)).toEqual([
      'queued',
      'running',
      'retrying',
      'running',
      'retrying',
      'running',
      'succeeded',
    ]);
    expect(tools.received('/flaky').map((r) => r.body.attempt)).toEqual([1, 2, 3]);
  });

  it('retries an action that runs right behind another one, keeping the order', async () => {
    const calls = new Map<number, number>();
    tools.on('/behind', (request, response) => {
      const n = request.body.params.n as number;
      calls.set(n, (calls.get(n) ?? 0) + 1);
      if (n === 1 && calls.get(n)! < 3) {
        json(response, 500, { error: 'not yet' });
      } else {
        json(response, 200, { result: { n } });
      }
    });
    await registerWebhookType(ks.admin, tools, 'test.behind', { path: '/behind' });
    const { lease } = await worker(['test.behind']);
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      ids.push((await lease.post('/v1/actions', { type: 'test.behind', params: { n } })).body.id);
    }
    const second = await waitForAction(ks.admin, ids[1]);
    expect(second).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(second.history.map((h: { status: string }) => h.status)).toEqual([
      'queued',
      'running',
      'retrying',
      'running',
      'retrying',
      'running',
      'succeeded',
    ]);
    expect((await waitForAction(ks.admin, ids[2])).status).toBe('succeeded');
    // The third started only once the second had succeeded.
    const seen = tools.received('/behind').map((r) => r.body.params.n);
    expect(seen).toEqual([0, 1, 1, 1, 2]);
  });

  it('fails an action whose tool server times out on every attempt', async () => {
    tools.on('/hang', () => undefined);
    await registerWebhookType(ks.admin, tools, 'test.hang', { path: '/hang', timeoutMs: 100 });
    const { lease } = await worker(['test.hang']);
    const id = (await lease.post('/v1/actions', { type: 'test.hang', params: {} })).body.id;
    const action = await waitForAction(ks.admin, id);
    expect(action.status).toBe('failed');
    expect(action.error).toMatch(/no answer within 100 ms/);
    expect(action.attempts).toBe(3);
  });

  describe('a tool server answer past ACTION_MAX_ANSWER_BYTES (1 MiB)', () => {
    const cap = deployment.config.actionMaxAnswerBytes;

    /** `{result: {blob}}` of exactly `bytes` bytes. */
    const answerOf = (bytes: number) =>
      JSON.stringify({ result: { blob: 'x'.repeat(bytes - '{"result":{"blob":""}}'.length) } });

    /** Streams a 2xx JSON answer of `total` bytes, minding backpressure, until done or cut. */
    function streamAnswer(response: ServerResponse, total: number): void {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"result":"');
      let sent = '{"result":"'.length;
      const more = () => {
        while (sent < total - 2 && !response.destroyed) {
          const n = Math.min(chunk.length, total - 2 - sent);
          sent += n;
          if (!response.write(chunk.subarray(0, n))) {
            response.once('drain', more);
            return;
          }
        }
        if (!response.destroyed) {
          response.end('"}');
        }
      };
      more();
    }

    /** How many bytes an action and its history take in Redis. */
    async function storedBytes(agentId: string, actionId: string): Promise<number> {
      const [action, history] = await Promise.all([
        redis.memory('USAGE', keys.action(agentId, actionId)),
        redis.memory('USAGE', keys.actionHistory(agentId, actionId)),
      ]);
      return (action ?? 0) + (history ?? 0);
    }

    it('stores an answer of exactly the cap, and fails at once on a 30 MB one, storing none of it', async () => {
      expect(cap).toBe(1024 * 1024);
      tools.on('/at-cap', (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(answerOf(cap));
      });
      tools.on('/huge', (_request, response) => streamAnswer(response, 30_000_000));
      await registerWebhookType(ks.admin, tools, 'test.at-cap', { path: '/at-cap' });
      await registerWebhookType(ks.admin, tools, 'test.huge', { path: '/huge' });
      const { id: agentId, lease } = await worker(['test.at-cap', 'test.huge']);

      const fits = (await lease.post('/v1/actions', { type: 'test.at-cap', params: {} })).body.id;
      const stored = await waitForAction(ks.admin, fits);
      expect(stored.status).toBe('succeeded');
      expect(stored.result.blob).toHaveLength(cap - '{"result":{"blob":""}}'.length);

      const huge = (await lease.post('/v1/actions', { type: 'test.huge', params: {} })).body.id;
      const action = await waitForAction(ks.admin, huge);
      expect(action).toMatchObject({
        status: 'failed',
        // A 2xx says the tool server acted: not asked again.
        attempts: 1,
        error: 'tool server answer too large: over 1 MiB (ACTION_MAX_ANSWER_BYTES)',
      });
      expect(action.result).toBeUndefined();
      expect(action.undo).toBeUndefined();
      expect(tools.received('/huge')).toHaveLength(1);
      expect(await storedBytes(agentId, huge)).toBeLessThan(4096);
      const read = await ks.admin.get(`/v1/actions/${huge}`);
      expect(JSON.stringify(read.body).length).toBeLessThan(4096);
    });

    it("bounds an answer that drips by the type's timeout, on every attempt", async () => {
      tools.on('/drip', (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"result":"');
        const kib = 'x'.repeat(1024);
        const timer = setInterval(() => response.write(kib), 10);
        response.on('close', () => clearInterval(timer));
      });
      await registerWebhookType(ks.admin, tools, 'test.drip', { path: '/drip', timeoutMs: 300 });
      const { id: agentId, lease } = await worker(['test.drip']);
      const id = (await lease.post('/v1/actions', { type: 'test.drip', params: {} })).body.id;
      const action = await waitForAction(ks.admin, id);
      expect(action).toMatchObject({
        status: 'failed',
        attempts: 3,
        error: `${tools.url}: answer not complete within 300 ms`,
      });
      expect(action.result).toBeUndefined();
      expect(await storedBytes(agentId, id)).toBeLessThan(4096);
    });
  });

  it('says which address failed and why when a tool server cannot be reached', async () => {
    // A port nothing listens on any more.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = { url: `http://127.0.0.1:${port}`, secret: tools.secret };
    await registerWebhookType(ks.admin, gone, 'test.gone', { path: '/gone' });
    const { lease } = await worker(['test.gone']);
    const id = (await lease.post('/v1/actions', { type: 'test.gone', params: {} })).body.id;
    const action = await waitForAction(ks.admin, id);
    expect(action.status).toBe('failed');
    // Not fetch's bare "fetch failed": where (the origin only: a path may be a secret, and the
    // agent reads this), and the reason underneath.
    expect(action.error).toContain(`http://127.0.0.1:${port}: request failed:`);
    expect(action.error).not.toContain('/gone');
    expect(action.error).toMatch(/ECONNREFUSED/);
  });

  describe('refuses bad submissions and changes nothing', () => {
    let agentId: string;
    let lease: Api;

    beforeAll(async () => {
      ({ id: agentId, lease } = await worker(['email.archive']));
    });

    const ledgerLength = async () =>
      (await ks.admin.get(`/v1/agents/${agentId}/actions`)).body.items.length;

    it.each([
      ['no lease token', () => ks.anonymous, { type: 'email.archive' }, 401],
      ['an API key instead of a lease', () => ks.admin, { type: 'email.archive' }, 401],
      ['a type the agent may not perform', () => lease, { type: 'email.unarchive' }, 403],
      ['an unknown type', () => lease, { type: 'no.such.type' }, 404],
      ['a missing type', () => lease, { params: {} }, 400],
      ['an extra field', () => lease, { type: 'email.archive', sudo: true }, 400],
      ['a bad idempotency key', () => lease, { type: 'email.archive', idempotencyKey: 'a b' }, 400],
      [
        'a body over 64 KiB',
        () => lease,
        { type: 'email.archive', params: { blob: 'x'.repeat(70 * 1024) } },
        413,
      ],
    ])('%s', async (_, api, body, status) => {
      const before = await ledgerLength();
      const reply = await api().post('/v1/actions', body);
      expect(reply.status).toBe(status);
      expect(typeof reply.body.message).toBe('string');
      expect(await ledgerLength()).toBe(before);
    });

    it('a revoked lease', async () => {
      const other = await worker(['email.archive']);
      await ks.admin.post(`/v1/agents/${other.id}/revoke`, { reason: 'test' });
      const reply = await other.lease.post('/v1/actions', { type: 'email.archive' });
      expect(reply.status).toBe(401);
      expect(reply.body.status).toBe('revoked');
    });

    it("another agent's actions", async () => {
      const other = await worker(['email.archive']);
      expect((await other.lease.get(`/v1/agents/${agentId}/actions`)).status).toBe(403);
    });
  });

  describe('the catalog', () => {
    it('never shows webhook secrets', async () => {
      const list = await ks.admin.get('/v1/action-types');
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).not.toContain(tools.secret);
      expect(
        list.body.items.find((t: { type: string }) => t.type === 'email.archive'),
      ).toMatchObject({
        reversible: true,
        compensation: 'email.unarchive',
      });
    });

    it("shows a webhook's path to admins only: others see its origin", async () => {
      const viewer = await createUser(ks, 'viewer');
      const archive = (items: { type: string; executor: { url?: string } }[]) =>
        items.find((t) => t.type === 'email.archive')?.executor.url;
      expect(archive((await ks.admin.get('/v1/action-types')).body.items)).toBe(
        `${tools.url}/archive`,
      );
      expect(archive((await viewer.api.get('/v1/action-types')).body.items)).toBe(
        `${tools.url}/[hidden]`,
      );
      const one = await viewer.api.get('/v1/action-types/email.archive');
      expect(one.status).toBe(200);
      expect(one.body.executor.url).toBe(`${tools.url}/[hidden]`);
      expect(JSON.stringify(one.body)).not.toContain('/archive');
    });

    it.each([
      [
        {
          executor: {
            kind: 'webhook',
            url: 'http://user:pw@127.0.0.1:9/x',
            secret: 'x'.repeat(16),
          },
          reversible: false,
        },
        /must not carry credentials/,
      ],
      [
        { executor: { kind: 'shell' }, reversible: false },
        /^executor\.kind must be webhook or noop$/,
      ],
      [{ executor: null, reversible: false }, /^executor must be an object/],
      [
        { executor: { kind: 'noop', timeoutMs: '5' }, reversible: false },
        /timeoutMs must be a whole/,
      ],
      [{ executor: { kind: 'noop' }, reversible: 'yes' }, /^reversible must be true or false$/],
      [{ executor: { kind: 'noop' }, reversible: true, compensation: null }, /compensation/],
      [{ executor: { kind: 'noop' }, reversible: true }, /must name its compensation/],
      [{ executor: { kind: 'noop' }, reversible: true, compensation: 'no.such' }, /does not exist/],
      [
        {
          executor: { kind: 'webhook', url: 'not a url', secret: 'x'.repeat(16) },
          reversible: false,
        },
        /url/,
      ],
      [
        { executor: { kind: 'webhook', url: 'http://x', secret: 'short' }, reversible: false },
        /secret/,
      ],
      [{ executor: { kind: 'webhook', secret: 'x'.repeat(16) }, reversible: false }, /url/],
      [{ executor: { kind: 'ftp' }, reversible: false }, /kind/],
    ])('refuses %j with 400', async (body, message) => {
      const reply = await ks.admin.put('/v1/action-types/test.bad', body);
      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(message);
      expect((await ks.admin.get('/v1/action-types/test.bad')).status).toBe(404);
    });

    it("gives a webhook without timeoutMs the executor's default, and refuses other kinds' fields", async () => {
      const reply = await ks.admin.put('/v1/action-types/test.defaults', {
        executor: { kind: 'webhook', url: `${tools.url}/archive`, secret: tools.secret },
        reversible: false,
      });
      expect(reply.status).toBe(200);
      expect(reply.body.executor).toEqual({
        kind: 'webhook',
        url: `${tools.url}/archive`,
        timeoutMs: 10_000,
        secret: '[set]',
      });
      const noop = await ks.admin.put('/v1/action-types/test.noop', {
        executor: { kind: 'noop', url: 'http://ignored' },
        reversible: false,
      });
      expect(noop.status).toBe(400);
      expect(noop.body.message).toBe('executor.url is not for noop executors: they take only kind');
      expect((await ks.admin.get('/v1/action-types/test.noop')).status).toBe(404);
    });

    it("refuses to delete a type that is another type's compensation", async () => {
      expect((await ks.admin.delete('/v1/action-types/email.unarchive')).status).toBe(409);
    });

    it('lets only admins change it', async () => {
      const responder = await createUser(ks, 'responder');
      const reply = await responder.api.put('/v1/action-types/x.y', {
        executor: { kind: 'noop' },
        reversible: false,
      });
      expect(reply.status).toBe(403);
    });
  });
});

describe('the most actions an agent may have queued', () => {
  const deployment = new TestDeployment({ actionMaxQueuedPerAgent: 3 });
  let ks: RunningApp;
  const tools = new ToolServer();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));

  beforeAll(async () => {
    await tools.start();
    tools.on('/held', async (_request, response) => {
      await held;
      json(response, 200, {});
    });
    ks = await deployment.killswitch();
    await registerWebhookType(ks.admin, tools, 'test.held', { path: '/held', timeoutMs: 20_000 });
  });

  afterAll(async () => {
    release();
    await deployment.close();
    await tools.stop();
  });

  it('refuses one more with 429 and keeps nothing of it, until some have finished', async () => {
    const { agent, asAgent } = await agentWithLease(ks.admin, {
      allowedActions: ['test.held'],
      ttlSeconds: 120,
    });
    const submit = (n: number, idempotencyKey?: string) =>
      asAgent.post('/v1/actions', { type: 'test.held', params: { n }, idempotencyKey });
    const first = (await submit(0, 'first')).body.id as string;
    await waitFor(() => tools.received('/held').length === 1, 10_000, 'the first to start');
    // One running, two waiting behind it: the most allowed.
    for (const n of [1, 2]) {
      expect((await submit(n)).status).toBe(202);
    }
    const ledger = async () =>
      (await ks.admin.get(`/v1/agents/${agent.id}/actions`)).body.items.length as number;

    const refused = await submit(3);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: 'rate_limited',
      message:
        `Agent ${agent.id} has 3 actions queued or running, the most allowed ` +
        '(ACTION_MAX_QUEUED_PER_AGENT is 3): submit more once some have finished',
    });
    expect(await ledger()).toBe(3);
    // A retry of one already taken is answered as before, full or not.
    const retried = await submit(0, 'first');
    expect(retried.body).toMatchObject({ id: first, status: 'running' });

    release();
    await waitForAction(ks.admin, first);
    await waitFor(
      async () => (await submit(4)).status === 202,
      10_000,
      'a submission to be taken once the first finished',
    );
    expect(await ledger()).toBe(4);
  });
});
