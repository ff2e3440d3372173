import Redis from 'ioredis';
import { Keys } from '@app/redis';
import { RunningApp, SHORT_LEASES, TestDeployment } from './support/apps';
import {
  Agent,
  agentWithLease,
  createAgent,
  createUser,
  heartbeat,
  issueLease,
  retireAgent,
  revokeAgent,
  TestUser,
  waitForExpiry,
} from './support/factories';
import { REDIS_URL, waitFor } from './support/redis';

const TOKEN = /^ksl_[A-Za-z0-9_-]{43,}$/;

describe('leases', () => {
  const deployment = new TestDeployment({ leaseMaxTtlSeconds: 120 });
  const keys = new Keys(deployment.config.keyPrefix);
  let ks: RunningApp;
  let redis: Redis;
  let owner: TestUser;

  beforeAll(async () => {
    ks = await deployment.killswitch();
    redis = new Redis(REDIS_URL);
    owner = await createUser(ks, 'owner');
  });

  afterAll(async () => {
    redis?.disconnect();
    await deployment.close();
  });

  /** How many lease records an agent has in Redis: "nothing created" as Redis sees it. */
  const leaseCount = (agentId: string) => redis.zcard(keys.agentLeases(agentId));

  describe('issuing', () => {
    it('issues a lease with the default TTL of 30 s to the owner of an active agent', async () => {
      const agent = await createAgent(owner.api);
      const before = Date.now();
      const reply = await owner.api.post(`/v1/agents/${agent.id}/leases`, {});
      const after = Date.now();
      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({
        leaseId: expect.any(String),
        token: expect.stringMatching(TOKEN),
        expiresAt: expect.any(String),
        maxExpiresAt: expect.any(String),
        epoch: 1,
      });
      expect(reply.body.token.length).toBeGreaterThanOrEqual(47);
      const expiresAt = Date.parse(reply.body.expiresAt);
      expect(new Date(expiresAt).toISOString()).toBe(reply.body.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 29_000);
      expect(expiresAt).toBeLessThanOrEqual(after + 31_000);
      expect(await leaseCount(agent.id)).toBe(1);
    });

    it('issues a lease with a chosen TTL up to the configured maximum, each with its own token', async () => {
      const agent = await createAgent(owner.api);
      const before = Date.now();
      const short = await issueLease(owner.api, agent.id, 5);
      const longest = await issueLease(owner.api, agent.id, 120);
      expect(Date.parse(short.expiresAt)).toBeLessThan(before + 7_000);
      expect(Date.parse(longest.expiresAt)).toBeGreaterThanOrEqual(before + 119_000);
      expect(short.token).not.toBe(longest.token);
      expect(short.leaseId).not.toBe(longest.leaseId);
      expect((await heartbeat(ks, short.token)).status).toBe(200);
      expect((await heartbeat(ks, longest.token)).status).toBe(200);
    });

    it.each([
      ['a TTL of 0', { ttlSeconds: 0 }],
      ['a negative TTL', { ttlSeconds: -5 }],
      ['a TTL above the configured maximum', { ttlSeconds: 121 }],
      ['a TTL that is not a number', { ttlSeconds: 'soon' }],
      ['an unknown property', { ttlSeconds: 10, extra: 1 }],
    ])('rejects %s with 400 and issues nothing', async (_, body) => {
      const agent = await createAgent(owner.api);
      const reply = await owner.api.post(`/v1/agents/${agent.id}/leases`, body);
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({ error: 'bad_request', message: expect.any(String) });
      expect(await leaseCount(agent.id)).toBe(0);
    });

    it('issues leases only to the agent’s owner and admins', async () => {
      const agent = await createAgent(owner.api);
      for (const role of ['viewer', 'owner', 'responder'] as const) {
        const other = await createUser(ks, role);
        const reply = await other.api.post(`/v1/agents/${agent.id}/leases`, {});
        expect(reply.status).toBe(403);
        expect(reply.body.error).toBe('forbidden');
      }
      expect((await ks.anonymous.post(`/v1/agents/${agent.id}/leases`, {})).status).toBe(401);
      expect(await leaseCount(agent.id)).toBe(0);

      const byAdmin = await ks.admin.post(`/v1/agents/${agent.id}/leases`, {});
      expect(byAdmin.status).toBe(201);
      expect((await heartbeat(ks, byAdmin.body.token)).status).toBe(200);
    });

    it('answers 404 for an unknown agent and 400 for a malformed agent id', async () => {
      const unknown = await ks.admin.post('/v1/agents/agt_0000000000000000/leases', {});
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toBe('not_found');
      const malformed = await ks.admin.post('/v1/agents/nope/leases', {});
      expect(malformed.status).toBe(400);
      expect(malformed.body.error).toBe('bad_request');
    });

    it('answers 409 for a revoked agent and issues nothing', async () => {
      const agent = await createAgent(owner.api);
      await revokeAgent(owner.api, agent.id);
      const reply = await owner.api.post(`/v1/agents/${agent.id}/leases`, {});
      expect(reply.status).toBe(409);
      expect(reply.body).toEqual({ error: 'conflict', message: expect.any(String) });
      expect(await leaseCount(agent.id)).toBe(0);
    });
  });

  describe('heartbeat', () => {
    it('extends a live lease', async () => {
      const { lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
      const reply = await heartbeat(ks, lease.token);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        status: 'active',
        expiresAt: expect.any(String),
        maxExpiresAt: lease.maxExpiresAt,
        epoch: 1,
      });
      expect(Date.parse(reply.body.expiresAt)).toBeGreaterThanOrEqual(Date.parse(lease.expiresAt));
    });

    it('keeps a heartbeated lease alive past its first expiry', async () => {
      const { lease } = await agentWithLease(owner.api, { ttlSeconds: 2 });
      const firstExpiry = Date.parse(lease.expiresAt);
      // Heartbeat well within the TTL until the original expiry is long gone.
      await waitFor(
        async () => {
          const reply = await heartbeat(ks, lease.token);
          expect(reply.status).toBe(200);
          return Date.now() > firstExpiry + 1_000;
        },
        10_000,
        'the first expiry to pass',
        250,
      );
      const reply = await heartbeat(ks, lease.token);
      expect(reply.status).toBe(200);
      expect(Date.parse(reply.body.expiresAt)).toBeGreaterThan(firstExpiry + 1_000);
    });

    it('answers 401 "expired" once a lease is not renewed within its TTL', async () => {
      const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 1 });
      await waitForExpiry(lease);
      for (let i = 0; i < 2; i++) {
        const reply = await heartbeat(ks, lease.token);
        expect(reply.status).toBe(401);
        expect(reply.body).toMatchObject({
          status: 'expired',
          error: expect.any(String),
          message: expect.any(String),
        });
      }
      // The agent itself is fine: a new lease works.
      const fresh = await issueLease(owner.api, agent.id, 30);
      expect((await heartbeat(ks, fresh.token)).status).toBe(200);
    });

    it('accepts a heartbeat without a body', async () => {
      const { lease } = await agentWithLease(owner.api);
      const reply = await ks.anonymous.as(lease.token).post('/v1/leases/heartbeat');
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe('active');
    });

    it('answers 401 without a token', async () => {
      const reply = await ks.anonymous.post('/v1/leases/heartbeat', {});
      expect(reply.status).toBe(401);
    });
  });

  describe('revocation', () => {
    it('turns the very next heartbeat dead once revoke returns', async () => {
      const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
      expect((await heartbeat(ks, lease.token)).status).toBe(200);

      const revoked = await revokeAgent(owner.api, agent.id, 'went rogue');
      expect(revoked).toEqual({
        agentId: agent.id,
        status: 'revoked',
        epoch: 2,
        revokedAt: expect.any(String),
        reason: 'went rogue',
        alreadyRevoked: false,
        incidentId: expect.stringMatching(/^inc_[0-9a-f]{16}$/),
        agents: 1,
        agentIds: [agent.id],
        alreadyRevokedIds: [],
        missingIds: [],
      });

      const reply = await heartbeat(ks, lease.token);
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({
        status: 'revoked',
        reason: 'went rogue',
        revokedAt: revoked.revokedAt,
        error: expect.any(String),
        message: expect.any(String),
      });
    });

    it('answers a second revocation with alreadyRevoked and the same epoch', async () => {
      const agent = await createAgent(owner.api);
      const first = await revokeAgent(owner.api, agent.id, 'first');
      const second = await revokeAgent(owner.api, agent.id, 'second');
      expect(second).toMatchObject({
        agentId: agent.id,
        status: 'revoked',
        epoch: first.epoch,
        alreadyRevoked: true,
      });
      const after = await owner.api.get(`/v1/agents/${agent.id}`);
      expect(after.body).toMatchObject({ status: 'revoked', epoch: first.epoch });
    });

    it('keeps a token issued before revocation dead after reinstatement', async () => {
      const { agent, lease: old } = await agentWithLease(owner.api, { ttlSeconds: 120 });
      expect(old.epoch).toBe(1);
      const revoked = await revokeAgent(owner.api, agent.id, 'incident');
      expect(revoked.epoch).toBe(2);

      const reinstated = await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, {
        reason: 'root cause fixed',
      });
      expect(reinstated.status).toBe(200);
      expect(reinstated.body).toMatchObject({ agentId: agent.id, status: 'active', epoch: 3 });

      const stale = await heartbeat(ks, old.token);
      expect(stale.status).toBe(401);
      expect(stale.body.status).toBe('revoked');

      const fresh = await issueLease(owner.api, agent.id, 30);
      expect(fresh.epoch).toBe(3);
      const live = await heartbeat(ks, fresh.token);
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({ status: 'active', epoch: 3 });
      expect((await heartbeat(ks, old.token)).status).toBe(401);
    });
  });

  describe('token handling', () => {
    let agent: Agent;
    let token: string;

    beforeAll(async () => {
      agent = await createAgent(owner.api);
      token = (await issueLease(owner.api, agent.id, 120)).token;
    });

    it.each([
      ['a wrong prefix', (t: string) => `ksk_${t.slice(4)}`],
      ['a truncated token', (t: string) => t.slice(0, 30)],
      ['a token one character short', (t: string) => t.slice(0, -1)],
      ['an unknown token', () => `ksl_${'A'.repeat(43)}`],
      ['garbage', () => 'not-a-token'],
    ])('answers 401 "invalid" for %s and changes nothing', async (_, mangle) => {
      const reply = await heartbeat(ks, mangle(token));
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({
        status: 'invalid',
        error: expect.any(String),
        message: expect.any(String),
      });
      const after = await owner.api.get(`/v1/agents/${agent.id}`);
      expect(after.body).toEqual(agent);
      expect((await heartbeat(ks, token)).status).toBe(200);
    });

    it('answers 401 "invalid" to a heartbeat without a token, saying what to send', async () => {
      for (const headers of [{}, { authorization: 'Token abc' }] as Record<string, string>[]) {
        const reply = await ks.anonymous.request('POST', '/v1/leases/heartbeat', {}, headers);
        expect(reply.status).toBe(401);
        expect(reply.body).toEqual({
          status: 'invalid',
          error: 'lease_invalid',
          message: 'No lease token: send "Authorization: Bearer <lease token>" (ksl_…)',
        });
      }
    });

    it('answers 401 "invalid" for an API key presented as a lease token', async () => {
      const reply = await heartbeat(ks, owner.apiKey);
      expect(reply.status).toBe(401);
      expect(reply.body.status).toBe('invalid');
    });

    it('never lets one agent’s token speak for another agent', async () => {
      const { agent: a, lease: leaseA } = await agentWithLease(owner.api, { ttlSeconds: 120 });
      const { agent: b, lease: leaseB } = await agentWithLease(owner.api, { ttlSeconds: 120 });
      await revokeAgent(owner.api, b.id, 'only b');

      // A's token still describes A (epoch 1, active); B's is dead.
      const hbA = await heartbeat(ks, leaseA.token);
      expect(hbA.status).toBe(200);
      expect(hbA.body).toMatchObject({ status: 'active', epoch: 1 });
      expect((await heartbeat(ks, leaseB.token)).body.status).toBe('revoked');

      // A lease token is not an API key: it cannot act on B (or on A) through the API.
      const asA = ks.anonymous.as(leaseA.token);
      expect((await asA.get(`/v1/agents/${b.id}`)).status).toBe(401);
      expect((await asA.post(`/v1/agents/${b.id}/reinstate`, { reason: 'x' })).status).toBe(401);
      expect((await asA.post(`/v1/agents/${b.id}/leases`, {})).status).toBe(401);
      expect((await asA.post(`/v1/agents/${a.id}/revoke`, { reason: 'x' })).status).toBe(401);
      const stillB = await owner.api.get(`/v1/agents/${b.id}`);
      expect(stillB.body).toMatchObject({ status: 'revoked', epoch: 2 });
      const stillA = await owner.api.get(`/v1/agents/${a.id}`);
      expect(stillA.body).toMatchObject({ status: 'active', epoch: 1 });
    });

    it('answers 401 "invalid" for a token of a deleted agent and does not bring it back', async () => {
      const { agent: doomed, lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
      await retireAgent(owner.api, doomed.id);
      const deleted = await owner.api.delete(`/v1/agents/${doomed.id}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ id: doomed.id, deleted: true });

      const reply = await heartbeat(ks, lease.token);
      expect(reply.status).toBe(401);
      expect(reply.body.status).toBe('invalid');
      expect((await owner.api.get(`/v1/agents/${doomed.id}`)).status).toBe(404);
      expect((await heartbeat(ks, lease.token)).status).toBe(401);
    });
  });
});

describe('leases with a maximum lifetime', () => {
  const deployment = new TestDeployment(SHORT_LEASES);
  let ks: RunningApp;

  beforeAll(async () => {
    ks = await deployment.killswitch();
  });

  afterAll(() => deployment.close());

  it('stops extending a heartbeated lease at its maximum lifetime', async () => {
    const owner = await createUser(ks, 'owner');
    const agent = await createAgent(owner.api);
    const issuedBefore = Date.now();
    const lease = await issueLease(owner.api, agent.id, 2);
    let last = 200;
    await waitFor(
      async () => {
        const reply = await heartbeat(ks, lease.token);
        last = reply.status;
        if (reply.status === 200) {
          expect(Date.parse(reply.body.expiresAt)).toBeLessThanOrEqual(issuedBefore + 4_000);
          // Said from the start, so a runtime knows when it will need a new lease.
          expect(reply.body.maxExpiresAt).toBe(lease.maxExpiresAt);
          expect(Date.parse(reply.body.expiresAt)).toBeLessThanOrEqual(
            Date.parse(lease.maxExpiresAt),
          );
          return false;
        }
        expect(reply.body.status).toBe('expired');
        return true;
      },
      15_000,
      'the lease to reach its maximum lifetime',
      250,
    );
    expect(last).toBe(401);
  });
});
