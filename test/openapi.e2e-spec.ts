import { UsersService } from '@app/auth';
import { RunningApp, startKillswitch, testConfig, TestDeployment } from './support/apps';
import {
  agentWithLease,
  createAgent,
  createUser,
  introspect,
  waitForAction,
  waitForIncident,
  type TestUser,
} from './support/factories';
import { waitUntilReady, type Api } from './support/http';
import { documentedCall, fetchDocument, OpenApiDocument, recordRoutes } from './support/openapi';
import { TestRedisServer } from './support/redis';

describe('the OpenAPI document at /docs/openapi.json', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let document: OpenApiDocument;
  /** Every route the app registered, as `GET /v1/agents/{id}`. */
  const routes = new Set<string>();

  beforeAll(async () => {
    ks = await deployment.killswitch(recordRoutes(routes));
    document = await fetchDocument(ks);
  });

  afterAll(() => deployment.close());

  it('is served with Swagger UI at /docs', async () => {
    const page = await ks.anonymous.get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('lists every route the app serves, and no other', () => {
    const served = [...routes].filter(
      // HEAD is Fastify's automatic twin of each GET; /docs is the document itself.
      (route) => !route.startsWith('HEAD ') && !/^\w+ \/docs\b/.test(route),
    );
    expect(served.length).toBeGreaterThan(20);
    const documented = document.operations().map(({ method, path }) => `${method} ${path}`);
    expect(documented.sort()).toEqual(served.sort());
  });

  it('declares each {param} of a path, with an example, and no other path parameter', () => {
    for (const { method, path, spec } of document.operations()) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const declared = (spec.parameters ?? []).filter((p: any) => p.in === 'path');
      expect({ operation: `${method} ${path}`, params: declared.map((p: any) => p.name) }).toEqual({
        operation: `${method} ${path}`,
        params: inPath,
      });
      for (const param of declared) {
        expect({ operation: `${method} ${path}`, param }).toEqual({
          operation: `${method} ${path}`,
          param: expect.objectContaining({
            required: true,
            description: expect.any(String),
            schema: expect.objectContaining({ type: 'string', example: expect.any(String) }),
          }),
        });
      }
    }
  });

  it('gives each operation a success answer with a schema, and its errors the shared one', () => {
    const error = { $ref: '#/components/schemas/ErrorDto' };
    for (const { method, path, spec } of document.operations()) {
      const operation = `${method} ${path}`;
      const statuses = Object.keys(spec.responses);
      const successes = statuses.filter((status) => /^2\d\d$/.test(status));
      expect({ operation, successes: successes.length }).toEqual({ operation, successes: 1 });
      for (const status of successes.filter((s) => s !== '204')) {
        const content = spec.responses[status].content ?? {};
        expect({ operation, status, types: Object.keys(content) }).toEqual({
          operation,
          status,
          types: expect.arrayContaining(['application/json']),
        });
        for (const media of Object.values<any>(content)) {
          expect({ operation, schema: media.schema }).toEqual({
            operation,
            schema: expect.any(Object),
          });
        }
      }
      for (const status of statuses.filter((s) => /^[45]\d\d$/.test(s))) {
        const schema = spec.responses[status].content?.['application/json']?.schema;
        // Health probes answer 503 with terminus' report instead.
        if (!path.startsWith('/health/')) {
          expect({ operation, status, schema }).toEqual({ operation, status, schema: error });
        }
      }
    }
  });

  it('gives each operation the security the app enforces, and documents its refusals', async () => {
    const { lease } = await agentWithLease(ks.admin);
    const callers: Record<string, Api> = {
      nobody: ks.anonymous,
      'api-key': ks.admin,
      'lease-token': ks.anonymous.as(lease.token),
    };
    for (const { method, path, spec } of document.operations()) {
      const params = Object.fromEntries(
        (spec.parameters ?? [])
          .filter((p: any) => p.in === 'path')
          .map((p: any) => [p.name, p.schema.example]),
      );
      const schemes = (spec.security ?? []).flatMap((requirement: object) =>
        Object.keys(requirement),
      );
      for (const [caller, api] of Object.entries(callers)) {
        // Without a body: every answer but a refused caller's is a 400, a 404 or a success.
        const reply = await documentedCall(document, api, method, path, { params });
        const refused = reply.status === 401;
        // A public route refuses nobody; one with security, whoever presents none of it.
        const expected = schemes.length > 0 && (caller === 'nobody' || !schemes.includes(caller));
        expect({ operation: `${method} ${path}`, caller, refused }).toEqual({
          operation: `${method} ${path}`,
          caller,
          refused: expected,
        });
      }
    }
  });

  it('describes the bearer tokens as what they are: ksk_ API keys and ksl_ lease tokens', () => {
    expect(document.spec.components.securitySchemes).toEqual({
      'api-key': expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'ksk_…' }),
      'lease-token': expect.objectContaining({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'ksl_…',
      }),
    });
  });
});

/**
 * Real answers of every route, successes and errors, checked against the document: each status
 * must be one the operation lists, each body valid against its schema (closed: no field the
 * document leaves out). The last test checks that every operation was seen succeeding.
 */
describe('the answers of every route match the OpenAPI document', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let relay: RunningApp;
  let document: OpenApiDocument;
  let owner: TestUser;
  let responder: TestUser;
  let viewer: TestUser;

  const call = (api: Api, method: string, path: string, options = {}) =>
    documentedCall(document, api, method, path, options);

  beforeAll(async () => {
    ks = await deployment.killswitch();
    relay = await deployment.relay();
    document = await fetchDocument(ks);
    [owner, responder, viewer] = await Promise.all([
      createUser(ks, 'owner'),
      createUser(ks, 'responder'),
      createUser(ks, 'viewer'),
    ]);
  });

  afterAll(() => deployment.close());

  it('health', async () => {
    expect((await call(ks.anonymous, 'GET', '/health/live')).status).toBe(200);
    expect((await call(ks.anonymous, 'GET', '/health/ready')).status).toBe(200);
  });

  it('users and API keys', async () => {
    const created = await call(ks.admin, 'POST', '/v1/users', {
      body: { name: 'Kim', role: 'viewer' },
    });
    expect(created.status).toBe(201);
    const params = { id: created.body.id };
    expect((await call(ks.admin, 'GET', '/v1/users')).status).toBe(200);
    expect((await call(ks.admin, 'POST', '/v1/users/{id}/keys', { params })).status).toBe(201);
    expect((await call(ks.admin, 'DELETE', '/v1/users/{id}/keys', { params })).status).toBe(200);
    expect((await call(owner.api, 'GET', '/v1/me')).status).toBe(200);
    expect((await call(ks.admin.as(created.body.apiKey), 'GET', '/v1/me')).status).toBe(401);
    expect((await call(owner.api, 'GET', '/v1/users')).status).toBe(403);
    expect((await call(ks.admin, 'POST', '/v1/users', { body: { name: 'Kim' } })).status).toBe(400);
    const text = { body: 'name=Kim', headers: { 'content-type': 'text/plain' } };
    expect((await call(ks.admin, 'POST', '/v1/users', text)).status).toBe(415);
    const huge = { body: { name: 'x'.repeat(70 * 1024), role: 'viewer' } };
    expect((await call(ks.admin, 'POST', '/v1/users', huge)).status).toBe(413);
  });

  it('the catalog', async () => {
    const put = (type: string, body: object) =>
      call(ks.admin, 'PUT', '/v1/action-types/{type}', { params: { type }, body });
    expect((await put('test.noop', { executor: { kind: 'noop' }, reversible: false })).status).toBe(
      200,
    );
    const webhook = {
      executor: {
        kind: 'webhook',
        url: 'http://127.0.0.1:9/tools/archive',
        timeoutMs: 1000,
        secret: 'a-secret-of-16-chars-at-least',
      },
      reversible: false,
    };
    expect((await put('test.webhook', webhook)).status).toBe(200);
    expect((await put('test.reversible', { ...webhook, reversible: true })).status).toBe(400);
    for (const api of [ks.admin, viewer.api]) {
      // Admins see a webhook's whole URL, others its origin: both shapes.
      expect((await call(api, 'GET', '/v1/action-types')).status).toBe(200);
      const one = await call(api, 'GET', '/v1/action-types/{type}', {
        params: { type: 'test.webhook' },
      });
      expect(one.status).toBe(200);
    }
    const gone = { params: { type: 'test.webhook' } };
    expect((await call(ks.admin, 'DELETE', '/v1/action-types/{type}', gone)).status).toBe(200);
    expect((await call(ks.admin, 'DELETE', '/v1/action-types/{type}', gone)).status).toBe(404);
  });

  let agentId: string;
  let leaseToken: string;

  it('agents and leases', async () => {
    const created = await call(owner.api, 'POST', '/v1/agents', {
      body: {
        name: 'inbox-cleaner',
        labels: { team: 'docs' },
        allowedActions: ['test.noop'],
        concurrency: 2,
      },
    });
    expect(created.status).toBe(201);
    agentId = created.body.id;
    const params = { id: agentId };
    expect((await call(viewer.api, 'POST', '/v1/agents', { body: { name: 'n' } })).status).toBe(
      403,
    );
    expect((await call(owner.api, 'GET', '/v1/agents', { query: '?label=team=docs' })).status).toBe(
      200,
    );
    expect((await call(owner.api, 'GET', '/v1/agents/{id}', { params })).status).toBe(200);
    expect(
      (await call(owner.api, 'GET', '/v1/agents/{id}', { params: { id: 'agt_0000000000000000' } }))
        .status,
    ).toBe(404);
    expect(
      (await call(owner.api, 'GET', '/v1/agents/{id}', { params: { id: 'nope' } })).status,
    ).toBe(400);
    expect((await call(ks.anonymous, 'GET', '/v1/agents')).status).toBe(401);

    const lease = await call(owner.api, 'POST', '/v1/agents/{id}/leases', { params, body: {} });
    expect(lease.status).toBe(201);
    leaseToken = lease.body.token;
    const asAgent = ks.anonymous.as(leaseToken);
    expect((await call(asAgent, 'POST', '/v1/leases/heartbeat')).status).toBe(200);
    expect((await call(ks.anonymous, 'POST', '/v1/leases/heartbeat')).status).toBe(401);
    const introspection = await introspect(viewer.api, leaseToken);
    document.expectAnswer('POST', '/v1/introspect', introspection);
    expect(introspection.body.active).toBe(true);
    expect((await call(viewer.api, 'POST', '/v1/introspect', { body: {} })).status).toBe(400);
  });

  it('actions', async () => {
    const asAgent = ks.anonymous.as(leaseToken);
    const submitted = await call(asAgent, 'POST', '/v1/actions', {
      body: { type: 'test.noop', params: { messageId: 'm-1' }, idempotencyKey: 'k-1' },
    });
    expect(submitted.status).toBe(202);
    await waitForAction(owner.api, submitted.body.id);
    for (const api of [owner.api, asAgent]) {
      const params = { id: submitted.body.id };
      expect((await call(api, 'GET', '/v1/actions/{id}', { params })).status).toBe(200);
      const list = await call(api, 'GET', '/v1/agents/{id}/actions', {
        params: { id: agentId },
        query: '?limit=1',
      });
      expect(list.status).toBe(200);
    }
    const other = { body: { type: 'test.webhook' } };
    expect((await call(asAgent, 'POST', '/v1/actions', other)).status).toBe(404);
    expect((await call(owner.api, 'POST', '/v1/actions', other)).status).toBe(401);
  });

  it('the rate limit on queued actions', async () => {
    // An instance without workers, whose agents may have one action waiting.
    const limited = await startKillswitch(
      testConfig({ workers: false, actionMaxQueuedPerAgent: 1 }),
    );
    try {
      await limited.admin.put('/v1/action-types/test.noop', {
        executor: { kind: 'noop' },
        reversible: false,
      });
      const { asAgent } = await agentWithLease(limited.admin, { allowedActions: ['test.noop'] });
      const submit = () =>
        call(asAgent, 'POST', '/v1/actions', { body: { type: 'test.noop' } }).then(
          (reply) => reply.status,
        );
      expect(await submit()).toBe(202);
      expect(await submit()).toBe(429);
    } finally {
      await limited.close();
    }
  });

  let incidentId: string;

  it('revocation', async () => {
    const params = { id: agentId };
    expect((await call(owner.api, 'DELETE', '/v1/agents/{id}', { params })).status).toBe(409);
    const dryRun = await call(responder.api, 'POST', '/v1/revocations', {
      body: { selector: { labels: { team: 'docs' } }, dryRun: true },
    });
    expect(dryRun.status).toBe(200);
    const revoked = await call(owner.api, 'POST', '/v1/agents/{id}/revoke', {
      params,
      body: { reason: 'documenting', rollback: { since: new Date(0).toISOString() } },
    });
    expect(revoked.status).toBe(200);
    incidentId = revoked.body.incidentId;
    const again = await call(owner.api, 'POST', '/v1/agents/{id}/revoke', { params, body: {} });
    expect(again.body.alreadyRevoked).toBe(true);
    const asAgent = ks.anonymous.as(leaseToken);
    expect((await call(asAgent, 'POST', '/v1/leases/heartbeat')).status).toBe(401);
    expect(
      (await call(asAgent, 'POST', '/v1/actions', { body: { type: 'test.noop' } })).status,
    ).toBe(401);
    const dead = await introspect(viewer.api, leaseToken);
    document.expectAnswer('POST', '/v1/introspect', dead);
    expect(dead.body).toEqual({ active: false });
    const agent = await call(owner.api, 'GET', '/v1/agents/{id}', { params });
    expect(agent.body).toMatchObject({ revokedBy: owner.id, incidentId });
    expect(
      (await call(owner.api, 'POST', '/v1/agents/{id}/leases', { params, body: {} })).status,
    ).toBe(409);

    const bulk = await call(responder.api, 'POST', '/v1/revocations', {
      body: { selector: { agentIds: [agentId] }, reason: 'documenting in bulk' },
    });
    expect(bulk.status).toBe(200);
    const none = await call(responder.api, 'POST', '/v1/revocations', {
      body: { selector: { agentIds: ['agt_0000000000000000'] } },
    });
    expect(none.status).toBe(404);
    expect(none.body.missingIds).toEqual(['agt_0000000000000000']);
    expect(
      (await call(owner.api, 'POST', '/v1/revocations', { body: { selector: { all: true } } }))
        .status,
    ).toBe(403);
  });

  it('incidents', async () => {
    const params = { id: incidentId };
    expect((await call(viewer.api, 'GET', '/v1/incidents/{id}', { params })).status).toBe(403);
    await waitForIncident(owner.api, incidentId);
    expect((await call(owner.api, 'GET', '/v1/incidents')).status).toBe(200);
    for (const query of ['', '?timeline=1&review=1&agents=1', '?format=md']) {
      expect((await call(owner.api, 'GET', '/v1/incidents/{id}', { params, query })).status).toBe(
        200,
      );
    }
    const md = { params, query: '?format=md&timeline=1' };
    expect((await call(owner.api, 'GET', '/v1/incidents/{id}', md)).status).toBe(400);
    const note = { params, body: { note: 'documented' } };
    expect((await call(owner.api, 'POST', '/v1/incidents/{id}/resolve', note)).status).toBe(403);
    expect((await call(responder.api, 'POST', '/v1/incidents/{id}/resolve', note)).status).toBe(
      201,
    );
    expect((await call(responder.api, 'POST', '/v1/incidents/{id}/resolve', note)).status).toBe(
      409,
    );
  });

  it('reinstating and deleting agents', async () => {
    const params = { id: agentId };
    const reason = { params, body: { reason: 'fixed' } };
    expect((await call(ks.admin, 'POST', '/v1/agents/{id}/reinstate', reason)).status).toBe(200);
    expect((await call(ks.admin, 'POST', '/v1/agents/{id}/reinstate', reason)).status).toBe(409);
    const other = await createAgent(owner.api);
    const stop = await owner.api.post(`/v1/agents/${other.id}/revoke`, {});
    await waitForIncident(owner.api, stop.body.incidentId);
    const deleted = { params: { id: other.id } };
    expect((await call(owner.api, 'DELETE', '/v1/agents/{id}', deleted)).status).toBe(200);
    expect((await call(owner.api, 'DELETE', '/v1/agents/{id}', deleted)).status).toBe(404);
  });

  it('devices', async () => {
    const code = await call(owner.api, 'POST', '/v1/devices/pairing-codes');
    expect(code.status).toBe(201);
    const paired = await relay.anonymous.post('/v1/pair', {
      code: code.body.code,
      deviceName: "Dana's phone",
    });
    expect(paired.status).toBe(201);
    expect((await call(owner.api, 'GET', '/v1/devices')).status).toBe(200);
    const device = { params: { id: paired.body.deviceId } };
    expect((await call(owner.api, 'DELETE', '/v1/devices/{id}', device)).status).toBe(200);
    expect((await call(owner.api, 'DELETE', '/v1/devices/{id}', device)).status).toBe(404);
    const user = { params: { id: owner.id } };
    expect((await call(ks.admin, 'GET', '/v1/users/{id}/devices', user)).status).toBe(200);
    expect((await call(ks.admin, 'DELETE', '/v1/users/{id}/devices', user)).status).toBe(200);
    expect((await call(owner.api, 'GET', '/v1/users/{id}/devices', user)).status).toBe(403);
  });

  it('an error nobody foresaw: 500 internal, with the errorId the log has', async () => {
    const failing = jest
      .spyOn(ks.app.get(UsersService), 'list')
      .mockRejectedValueOnce(new Error('a bug'));
    try {
      const reply = await call(ks.admin, 'GET', '/v1/users');
      expect(reply.status).toBe(500);
      expect(reply.body).toEqual({
        error: 'internal',
        message: `Internal error (id ${reply.body.errorId})`,
        errorId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    } finally {
      failing.mockRestore();
    }
  });

  it('every operation was seen succeeding', () => {
    const unseen = document
      .operations()
      .filter(({ method, path, spec }) => {
        const success = Object.keys(spec.responses).find((status) => /^2\d\d$/.test(status));
        return !document.checked.has(`${method} ${path} ${success}`);
      })
      .map(({ method, path }) => `${method} ${path}`);
    expect(unseen).toEqual([]);
  });
});

describe('the answers of an API without Redis match the OpenAPI document', () => {
  let redis: TestRedisServer;
  let ks: RunningApp;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    ks = await startKillswitch(testConfig({ redisUrl: redis.url, healthRedisTimeoutMs: 300 }));
  });

  afterAll(async () => {
    await ks?.close();
    await redis?.stop();
  });

  it('answers 503, as documented', async () => {
    const document = await fetchDocument(ks);
    await redis.stop();
    try {
      const ready = await documentedCall(document, ks.anonymous, 'GET', '/health/ready');
      expect(ready.status).toBe(503);
      const me = await documentedCall(document, ks.admin, 'GET', '/v1/me');
      expect(me.status).toBe(503);
    } finally {
      // Back, so that the app closes promptly (its workers wait on Redis to stop).
      await redis.start();
      await waitUntilReady(ks.anonymous, 15_000, 'ready again');
    }
  });
});
