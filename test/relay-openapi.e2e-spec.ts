import { randomUUID } from 'node:crypto';
import { generateSecret } from '@app/auth';
import { StopRequests } from '@app/devices';
import { newIncidentId } from '@app/incidents';
import { RunningApp, startRelay, testConfig, TestDeployment } from './support/apps';
import { agentWithLease, createAgent, createUser, type TestUser } from './support/factories';
import { waitUntilReady, type Api } from './support/http';
import { documentedCall, fetchDocument, OpenApiDocument, recordRoutes } from './support/openapi';
import { TestRedisServer } from './support/redis';

/**
 * The relay's routes that are the phone page's files, not JSON API: the page itself (static
 * files under `/`) and the QR code library it loads. The document leaves them out.
 */
const PHONE_PAGE_ROUTES = ['GET /*', 'GET /vendor/qrcode.js'];

/** A phone of `user` paired through the relay, checked against the document. */
async function pairDevice(document: OpenApiDocument, relay: RunningApp, user: TestUser) {
  const code = await user.api.post('/v1/devices/pairing-codes');
  expect(code.status).toBe(201);
  const paired = await documentedCall(document, relay.anonymous, 'POST', '/v1/pair', {
    body: { code: code.body.code, deviceName: `${user.role}'s phone` },
  });
  expect(paired.status).toBe(201);
  return {
    deviceId: paired.body.deviceId as string,
    api: relay.anonymous.as(paired.body.deviceToken),
  };
}

describe("the relay's OpenAPI document at /docs/openapi.json", () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let relay: RunningApp;
  let document: OpenApiDocument;
  /** Every route the relay registered, as `POST /v1/stop`. */
  const routes = new Set<string>();

  beforeAll(async () => {
    ks = await deployment.killswitch();
    relay = await deployment.relay(recordRoutes(routes));
    document = await fetchDocument(relay);
  });

  afterAll(() => deployment.close());

  it('is served with Swagger UI at /docs (its headers: security-headers.e2e-spec.ts)', async () => {
    const page = await relay.anonymous.get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('lists every JSON route the relay serves, and no other', () => {
    const served = [...routes].filter(
      // HEAD is Fastify's automatic twin of each GET; /docs is the document itself.
      (route) => !route.startsWith('HEAD ') && !/^\w+ \/docs\b/.test(route),
    );
    // Left out on purpose, and only these: they must still be there to be left out.
    expect(served).toEqual(expect.arrayContaining(PHONE_PAGE_ROUTES));
    const documented = document.operations().map(({ method, path }) => `${method} ${path}`);
    expect(documented.sort()).toEqual(
      served.filter((route) => !PHONE_PAGE_ROUTES.includes(route)).sort(),
    );
    expect(documented).toEqual(expect.arrayContaining(['POST /v1/pair', 'POST /v1/stop']));
  });

  it('gives each operation a JSON success answer with a schema, and its errors the shared one', () => {
    const error = { $ref: '#/components/schemas/ErrorDto' };
    for (const { method, path, spec } of document.operations()) {
      const operation = `${method} ${path}`;
      const statuses = Object.keys(spec.responses);
      const successes = statuses.filter((status) => /^2\d\d$/.test(status));
      expect({ operation, successes: successes.length }).toEqual({ operation, successes: 1 });
      const content = spec.responses[successes[0]].content ?? {};
      expect({ operation, schema: content['application/json']?.schema }).toEqual({
        operation,
        schema: expect.any(Object),
      });
      for (const status of statuses.filter((s) => /^[45]\d\d$/.test(s))) {
        const schema = spec.responses[status].content?.['application/json']?.schema;
        // Health probes answer 503 with terminus' report instead.
        if (!path.startsWith('/health/')) {
          expect({ operation, status, schema }).toEqual({ operation, status, schema: error });
        }
      }
    }
  });

  it('gives each operation the security the relay enforces, and documents its refusals', async () => {
    const owner = await createUser(ks, 'owner');
    const device = await pairDevice(document, relay, owner);
    const { lease } = await agentWithLease(ks.admin);
    const callers: Record<string, Api> = {
      nobody: relay.anonymous,
      'device-token': device.api,
      // The API's credentials are not the relay's: refused where a device token is asked for.
      'api-key': relay.anonymous.as(owner.apiKey),
      'lease-token': relay.anonymous.as(lease.token),
    };
    for (const { method, path, spec } of document.operations()) {
      const schemes = (spec.security ?? []).flatMap((requirement: object) =>
        Object.keys(requirement),
      );
      for (const [caller, api] of Object.entries(callers)) {
        // Without a body: every answer but a refused caller's is a 400 or a success.
        const reply = await documentedCall(document, api, method, path);
        const refused = reply.status === 401;
        const expected = schemes.length > 0 && !schemes.includes(caller);
        expect({ operation: `${method} ${path}`, caller, refused }).toEqual({
          operation: `${method} ${path}`,
          caller,
          refused: expected,
        });
      }
    }
  });

  it('describes the bearer token as what it is: a ksd_ device token', () => {
    expect(document.spec.components.securitySchemes).toEqual({
      'device-token': expect.objectContaining({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'ksd_…',
      }),
    });
  });

  it('points to the README for the socket.io events, which OpenAPI does not describe', () => {
    expect(document.spec.info.description).toMatch(/socket\.io.*README/s);
  });
});

/**
 * Real answers of every relay route, successes and errors, checked against the document (closed
 * schemas: no field the document leaves out). The last test checks that every operation was seen
 * succeeding.
 */
describe("the answers of every relay route match the relay's OpenAPI document", () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let relay: RunningApp;
  let document: OpenApiDocument;
  let owner: TestUser;
  let responder: TestUser;
  let viewer: TestUser;

  const call = (api: Api, method: string, path: string, options = {}) =>
    documentedCall(document, api, method, path, options);
  const stop = (api: Api, body: unknown, options = {}) =>
    call(api, 'POST', '/v1/stop', { body, ...options });

  beforeAll(async () => {
    ks = await deployment.killswitch();
    relay = await deployment.relay();
    document = await fetchDocument(relay);
    [owner, responder, viewer] = await Promise.all([
      createUser(ks, 'owner'),
      createUser(ks, 'responder'),
      createUser(ks, 'viewer'),
    ]);
  });

  afterAll(() => deployment.close());

  it('health', async () => {
    expect((await call(relay.anonymous, 'GET', '/health/live')).status).toBe(200);
    expect((await call(relay.anonymous, 'GET', '/health/ready')).status).toBe(200);
  });

  it('pairing', async () => {
    const { api } = await pairDevice(document, relay, owner);
    expect(api).toBeDefined();
    const pair = (body: unknown, headers?: Record<string, string>) =>
      call(relay.anonymous, 'POST', '/v1/pair', { body, headers });
    expect((await pair({ code: 'ABCD-EFGH-JK' })).status).toBe(400);
    expect((await pair({ code: 'ABCD-EFGH-JK', deviceName: 'phone', ttl: 5 })).status).toBe(400);
    expect((await pair({ code: 'ABCD-EFGH-JK', deviceName: 'phone' })).status).toBe(401);
    expect((await pair('code=x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await pair('{"code":', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await pair({ code: 'x', deviceName: 'x'.repeat(70 * 1024) })).status).toBe(413);
  });

  it('stops, and a stop sent again', async () => {
    const { api } = await pairDevice(document, relay, owner);
    const agent = await createAgent(owner.api);
    const body = { agentId: agent.id, reason: 'documenting', requestId: randomUUID() };
    const stopped = await stop(api, body);
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ ok: true, agents: 1, alreadyRevoked: 0 });
    const again = await stop(api, body);
    expect(again.body).toEqual(stopped.body);
    // A responder's phone, by selector: the stopped agent counts as already stopped.
    const phone = await pairDevice(document, relay, responder);
    const bulk = await stop(phone.api, {
      selector: { agentIds: [agent.id] },
      requestId: randomUUID(),
    });
    expect(bulk.status).toBe(200);
    expect(bulk.body).toMatchObject({ ok: true, agents: 1, alreadyRevoked: 1 });
  });

  it('refused stops', async () => {
    const { api, deviceId } = await pairDevice(document, relay, owner);
    const requestId = () => ({ requestId: randomUUID() });
    const malformed = await stop(api, { agentId: 'agt_0000000000000000', mine: true });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ ok: false, error: 'bad_request' });
    const notJson = await stop(api, '{"mine":', {
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    const missing = await stop(api, { agentId: 'agt_0000000000000000', ...requestId() });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ ok: false, error: 'not_found' });
    const other = await createAgent(responder.api);
    const foreign = await stop(api, { selector: { agentIds: [other.id] }, ...requestId() });
    expect(foreign.status).toBe(403);
    const viewers = await pairDevice(document, relay, viewer);
    const weak = await stop(viewers.api, { mine: true, ...requestId() });
    expect(weak.status).toBe(403);
    expect(weak.body).toMatchObject({ ok: false, error: 'forbidden' });
    expect((await stop(relay.anonymous, { mine: true, ...requestId() })).status).toBe(401);
    expect((await stop(relay.anonymous.as(owner.apiKey), { mine: true })).status).toBe(401);
    const text = { headers: { 'content-type': 'text/plain' } };
    expect((await stop(api, 'mine', text)).status).toBe(415);
    const huge = { mine: true, reason: 'x'.repeat(70 * 1024), ...requestId() };
    expect((await stop(api, huge)).status).toBe(413);
    // Another delivery of the same stop holds it (a relay carrying it out right now).
    const held = requestId();
    const requests = relay.app.get(StopRequests, { strict: false });
    await requests.claim(deviceId, held.requestId, newIncidentId());
    const busy = await stop(api, { mine: true, ...held });
    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ ok: false, error: 'conflict' });
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

describe("the relay's answers to an address sending wrong pairing codes match its document", () => {
  // Its own deployment: once limited, this address could pair no phone on it for 15 minutes.
  const deployment = new TestDeployment();

  afterAll(() => deployment.close());

  it('answers 429 with Retry-After, as documented', async () => {
    const relay = await deployment.relay();
    const document = await fetchDocument(relay);
    const wrong = () =>
      documentedCall(document, relay.anonymous, 'POST', '/v1/pair', {
        body: { code: 'ABCD-EFGH-JK', deviceName: 'phone' },
      });
    for (let i = 0; i < 10; i++) {
      expect((await wrong()).status).toBe(401);
    }
    const limited = await wrong();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBe(limited.body.retryAfterSeconds);
  });
});

describe('the answers of a relay without Redis match its OpenAPI document', () => {
  let redis: TestRedisServer;
  let relay: RunningApp;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    relay = await startRelay(testConfig({ redisUrl: redis.url, healthRedisTimeoutMs: 300 }));
  });

  afterAll(async () => {
    await relay?.close();
    await redis?.stop();
  });

  it('answers 503, as documented', async () => {
    const document = await fetchDocument(relay);
    await redis.stop();
    try {
      const call = (api: Api, method: string, path: string, options = {}) =>
        documentedCall(document, api, method, path, options);
      expect((await call(relay.anonymous, 'GET', '/health/ready')).status).toBe(503);
      const pair = { body: { code: 'ABCD-EFGH-JK', deviceName: 'phone' } };
      expect((await call(relay.anonymous, 'POST', '/v1/pair', pair)).status).toBe(503);
      const device = relay.anonymous.as(generateSecret('ksd'));
      const stop = { body: { mine: true, requestId: 'r-1' } };
      expect((await call(device, 'POST', '/v1/stop', stop)).status).toBe(503);
    } finally {
      // Back, so that the relay closes promptly.
      await redis.start();
      await waitUntilReady(relay.anonymous, 15_000, 'ready again');
    }
  });
});
