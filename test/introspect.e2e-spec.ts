import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { RunningApp, startKillswitch, testConfig, TestDeployment } from './support/apps';
import {
  agentWithLease,
  createAgent,
  createUser,
  heartbeat,
  introspect,
  issueLease,
  retireAgent,
  revokeAgent,
  TestUser,
} from './support/factories';
import { waitUntilReady } from './support/http';
import { TestRedisServer, waitFor } from './support/redis';

/** Runs the real OAuth client library (oauth4webapi, ESM-only) in a child process. */
function oauthIntrospect(
  endpoint: string,
  apiKey: string,
  token: string,
): Promise<{ code: number; result?: Record<string, unknown>; stderr: string }> {
  const script = join(__dirname, 'support/oauth-introspect.mjs');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, endpoint, apiKey, token],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, result: code === 0 ? JSON.parse(stdout) : undefined, stderr });
      },
    );
  });
}

describe('token introspection (RFC 7662)', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let owner: TestUser;
  let resourceServer: TestUser;

  beforeAll(async () => {
    ks = await deployment.killswitch();
    owner = await createUser(ks, 'owner');
    // Any role may introspect; a resource server needs no more than a viewer's key.
    resourceServer = await createUser(ks, 'viewer', { name: 'resource-server' });
  });

  afterAll(() => deployment.close());

  it('describes a live lease token', async () => {
    const agent = await createAgent(owner.api, { allowedActions: ['read', 'deploy'] });
    const before = Math.floor(Date.now() / 1000);
    const lease = await issueLease(owner.api, agent.id, 60);
    const reply = await introspect(resourceServer.api, lease.token);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      active: true,
      sub: agent.id,
      client_id: agent.id,
      scope: 'read deploy',
      exp: expect.any(Number),
      iat: expect.any(Number),
      token_type: 'Bearer',
    });
    expect(Number.isInteger(reply.body.exp)).toBe(true);
    expect(Number.isInteger(reply.body.iat)).toBe(true);
    expect(Math.abs(reply.body.exp - Date.parse(lease.expiresAt) / 1000)).toBeLessThanOrEqual(1);
    expect(reply.body.iat).toBeGreaterThanOrEqual(before - 1);
    expect(reply.body.iat).toBeLessThanOrEqual(reply.body.exp);
  });

  it('also accepts a JSON body, and callers of every role', async () => {
    const { agent, lease } = await agentWithLease(owner.api, { allowedActions: [] });
    const json = await resourceServer.api.post('/v1/introspect', { token: lease.token });
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ active: true, sub: agent.id });
    for (const api of [owner.api, ks.admin, (await createUser(ks, 'responder')).api]) {
      const reply = await introspect(api, lease.token);
      expect(reply.status).toBe(200);
      expect(reply.body.active).toBe(true);
    }
  });

  it('answers 401 without an API key, or with a lease token in place of one', async () => {
    const { lease } = await agentWithLease(owner.api);
    expect((await introspect(ks.anonymous, lease.token)).status).toBe(401);
    expect((await introspect(ks.anonymous.as(lease.token), lease.token)).status).toBe(401);
    expect((await introspect(ks.anonymous.as(`ksk_${'A'.repeat(43)}`), lease.token)).status).toBe(
      401,
    );
  });

  it('answers 400 when the token parameter is missing', async () => {
    const reply = await resourceServer.api.request('POST', '/v1/introspect', 'token_type_hint=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(reply.status).toBe(400);
  });

  it.each([
    ['an unknown token', `ksl_${'A'.repeat(43)}`],
    ['a token with the wrong prefix', `ksk_${'A'.repeat(43)}`],
    ['a truncated token', 'ksl_abc'],
    ['garbage', 'not-a-token'],
  ])('answers exactly {active: false} for %s', async (_, token) => {
    const reply = await introspect(resourceServer.api, token);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ active: false });
  });

  it('does not extend the lease, and turns inactive when it expires', async () => {
    const { lease } = await agentWithLease(owner.api, { ttlSeconds: 1 });
    const first = await introspect(resourceServer.api, lease.token);
    expect(first.body.active).toBe(true);
    // Introspecting repeatedly must not keep the lease alive.
    await waitFor(
      async () => {
        const reply = await introspect(resourceServer.api, lease.token);
        if (reply.body.active === true) {
          expect(reply.body.exp).toBe(first.body.exp);
          return false;
        }
        expect(reply.body).toEqual({ active: false });
        return true;
      },
      10_000,
      'introspection to report the lease expired',
    );
    const hb = await heartbeat(ks, lease.token);
    expect(hb.status).toBe(401);
    expect(hb.body.status).toBe('expired');
  });

  it('turns inactive on the very next call after revoke returns, and stays so after reinstatement', async () => {
    const { agent, lease: old } = await agentWithLease(owner.api, { ttlSeconds: 120 });
    expect((await introspect(resourceServer.api, old.token)).body.active).toBe(true);

    await revokeAgent(owner.api, agent.id, 'stop now');
    expect((await introspect(resourceServer.api, old.token)).body).toEqual({ active: false });
    expect((await heartbeat(ks, old.token)).status).toBe(401);

    const reinstated = await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'ok' });
    expect(reinstated.status).toBe(200);
    expect((await introspect(resourceServer.api, old.token)).body).toEqual({ active: false });

    const fresh = await issueLease(owner.api, agent.id, 60);
    const reply = await introspect(resourceServer.api, fresh.token);
    expect(reply.body).toMatchObject({ active: true, sub: agent.id });
  });

  it('names the agent the token belongs to, and no other', async () => {
    const { agent: a, lease: leaseA } = await agentWithLease(owner.api, {
      allowedActions: ['read'],
      ttlSeconds: 60,
    });
    const { agent: b, lease: leaseB } = await agentWithLease(owner.api, {
      allowedActions: ['deploy'],
      ttlSeconds: 60,
    });
    await revokeAgent(owner.api, b.id);

    const replyA = await introspect(resourceServer.api, leaseA.token);
    expect(replyA.body).toMatchObject({ active: true, sub: a.id, client_id: a.id, scope: 'read' });
    expect((await introspect(resourceServer.api, leaseB.token)).body).toEqual({ active: false });
  });

  it('answers {active: false} for a token of a deleted agent', async () => {
    const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
    await retireAgent(owner.api, agent.id);
    expect((await owner.api.delete(`/v1/agents/${agent.id}`)).status).toBe(200);
    expect((await introspect(resourceServer.api, lease.token)).body).toEqual({ active: false });
    expect((await owner.api.get(`/v1/agents/${agent.id}`)).status).toBe(404);
  });

  describe('through a real OAuth client (oauth4webapi)', () => {
    const endpoint = () => `${ks.url}/v1/introspect`;

    it('reads a live token as active, and as inactive right after revoke', async () => {
      const { agent, lease } = await agentWithLease(owner.api, {
        allowedActions: ['read', 'write'],
        ttlSeconds: 60,
      });

      const live = await oauthIntrospect(endpoint(), resourceServer.apiKey, lease.token);
      expect(live.stderr).toBe('');
      expect(live.code).toBe(0);
      expect(live.result).toMatchObject({
        active: true,
        sub: agent.id,
        client_id: agent.id,
        scope: 'read write',
        token_type: 'Bearer',
        exp: expect.any(Number),
        iat: expect.any(Number),
      });

      await revokeAgent(owner.api, agent.id);
      const dead = await oauthIntrospect(endpoint(), resourceServer.apiKey, lease.token);
      expect(dead.code).toBe(0);
      expect(dead.result).toEqual({ active: false });
    });

    it('fails when the resource server’s API key is not accepted', async () => {
      const { lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
      const reply = await oauthIntrospect(endpoint(), `ksk_${'A'.repeat(43)}`, lease.token);
      expect(reply.code).toBe(1);
      expect(reply.result).toBeUndefined();
      expect(reply.stderr).toMatch(/401/);
    });
  });
});

describe('token introspection when Redis is down', () => {
  let redis: TestRedisServer;
  let ks: RunningApp;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    ks = await startKillswitch(testConfig({ redisUrl: redis.url }));
  });

  afterAll(async () => {
    await ks?.close();
    await redis?.stop();
  });

  it('fails closed: never active, heartbeats refused; and recovers with Redis', async () => {
    const owner = await createUser(ks, 'owner');
    const { lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
    expect((await introspect(ks.admin, lease.token)).body.active).toBe(true);

    await redis.stop();
    try {
      const reply = await introspect(ks.admin, lease.token);
      expect(reply.status).toBe(503);
      expect(reply.body.active).not.toBe(true);
      expect((await heartbeat(ks, lease.token)).status).not.toBe(200);
    } finally {
      // Redis comes back (empty: this throw-away server keeps nothing on disk); the app must
      // reconnect by itself, and is closed only once it has.
      await redis.start();
      await waitUntilReady(ks.anonymous, 15_000, 'the app to reconnect to Redis');
    }
  });
});
