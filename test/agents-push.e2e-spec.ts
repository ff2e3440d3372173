import Redis from 'ioredis';
import type { Socket } from 'socket.io-client';
import { Keys } from '@app/redis';
import { RunningApp, TestDeployment } from './support/apps';
import { Api } from './support/http';
import {
  Agent,
  agentWithLease,
  connected,
  createAgent,
  createUser,
  heartbeat,
  openAgentSocket,
  retireAgent,
  revokeAgent,
  TestUser,
  waitForIncident,
} from './support/factories';
import { REDIS_URL, waitFor } from './support/redis';

const AGENT_ID = /^agt_[0-9a-f]{16}$/;

const ids = (items: Agent[]) => items.map((x) => x.id);

/** Every agent a caller sees, following nextCursor (with a bound on the number of pages). */
async function listAll(api: Api, query = ''): Promise<Agent[]> {
  const items: Agent[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const next: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const reply = await api.get(`/v1/agents?${query}${next}`);
    expect(reply.status).toBe(200);
    items.push(...reply.body.items);
    cursor = reply.body.nextCursor;
    if (!cursor) {
      return items;
    }
  }
  throw new Error('more than 100 pages of agents');
}

describe('agents and revocation push', () => {
  // Two instances of one deployment: same Redis, same key prefix, different ports.
  const deployment = new TestDeployment();
  let a: RunningApp;
  let b: RunningApp;
  let owner: TestUser;
  let otherOwner: TestUser;
  let viewer: TestUser;
  let responder: TestUser;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([deployment.killswitch(), deployment.killswitch()]);
    owner = await createUser(a, 'owner');
    otherOwner = await createUser(a, 'owner');
    viewer = await createUser(a, 'viewer');
    responder = await createUser(a, 'responder');
  });

  afterAll(async () => {
    for (const socket of sockets) {
      socket.close();
    }
    await deployment.close();
  });

  /** Counts agents the bootstrap admin sees: "nothing created" as users observe it. */
  const agentCount = async () => (await listAll(a.admin)).length;

  describe('registering', () => {
    it('creates an agent owned by the caller', async () => {
      const reply = await owner.api.post('/v1/agents', {
        name: 'deploy-bot',
        labels: { team: 'infra', env: 'prod' },
        allowedActions: ['deploy', 'rollback'],
      });
      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({
        id: expect.stringMatching(AGENT_ID),
        name: 'deploy-bot',
        owner: owner.id,
        labels: { team: 'infra', env: 'prod' },
        allowedActions: ['deploy', 'rollback'],
        status: 'active',
        epoch: 1,
        createdAt: expect.any(String),
      });
      expect(new Date(reply.body.createdAt).toISOString()).toBe(reply.body.createdAt);
      const fetched = await owner.api.get(`/v1/agents/${reply.body.id}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual(reply.body);
    });

    it('creates an agent from a name alone', async () => {
      const reply = await owner.api.post('/v1/agents', { name: 'minimal' });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({ name: 'minimal', status: 'active', epoch: 1 });
    });

    it('refuses a viewer with 403 and creates nothing', async () => {
      const before = await agentCount();
      const reply = await viewer.api.post('/v1/agents', { name: 'nope' });
      expect(reply.status).toBe(403);
      expect(reply.body.error).toBe('forbidden');
      expect((await a.anonymous.post('/v1/agents', { name: 'nope' })).status).toBe(401);
      expect(await agentCount()).toBe(before);
    });

    it.each([
      ['no name', {}],
      ['a name that is not a string', { name: 42 }],
      ['a label value that is not a string', { name: 'x', labels: { team: 5 } }],
      ['allowedActions that is not a list', { name: 'x', allowedActions: 'deploy' }],
      ['allowedActions with a non-string entry', { name: 'x', allowedActions: [1] }],
      ['an unknown property', { name: 'x', extra: 1 }],
    ])('rejects %s with 400 and creates nothing', async (_, body) => {
      const before = await agentCount();
      const reply = await owner.api.post('/v1/agents', body);
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({ error: 'bad_request', message: expect.any(String) });
      expect(await agentCount()).toBe(before);
    });
  });

  describe('reading', () => {
    let agent: Agent;

    beforeAll(async () => {
      agent = await createAgent(owner.api);
    });

    it('shows an agent to its owner, responders and admins', async () => {
      for (const api of [owner.api, responder.api, a.admin, b.admin]) {
        const reply = await api.get(`/v1/agents/${agent.id}`);
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual(agent);
      }
    });

    it('answers 403 to another owner and to a viewer', async () => {
      for (const api of [otherOwner.api, viewer.api]) {
        const reply = await api.get(`/v1/agents/${agent.id}`);
        expect(reply.status).toBe(403);
        expect(reply.body.error).toBe('forbidden');
      }
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const unknown = await a.admin.get('/v1/agents/agt_0000000000000000');
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toBe('not_found');
      for (const id of ['nope', 'agt_XYZ', 'agt_00000000000000000']) {
        const reply = await a.admin.get(`/v1/agents/${id}`);
        expect(reply.status).toBe(400);
        expect(reply.body.error).toBe('bad_request');
      }
    });

    it('shows revocation details once revoked', async () => {
      const revoked = await createAgent(owner.api);
      const revocation = await revokeAgent(owner.api, revoked.id, 'looping');
      const reply = await owner.api.get(`/v1/agents/${revoked.id}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        ...revoked,
        status: 'revoked',
        epoch: revocation.epoch,
        revokedAt: revocation.revokedAt,
        revokeReason: 'looping',
      });
    });
  });

  describe('listing', () => {
    let lister: TestUser;
    let stranger: TestUser;
    let infraProd: Agent;
    let infraDev: Agent;
    let dataProd: Agent;
    let strangers: Agent;

    beforeAll(async () => {
      lister = await createUser(a, 'owner');
      stranger = await createUser(a, 'owner');
      // "Newest first" is only defined across distinct creation times: let the clock move on.
      const after = async (previous: Agent) =>
        waitFor(() => Date.now() > Date.parse(previous.createdAt) + 1, 1_000, 'the clock');
      infraProd = await createAgent(lister.api, { labels: { team: 'infra', env: 'prod' } });
      await after(infraProd);
      infraDev = await createAgent(lister.api, { labels: { team: 'infra', env: 'dev' } });
      await after(infraDev);
      dataProd = await createAgent(lister.api, { labels: { team: 'data', env: 'prod' } });
      strangers = await createAgent(stranger.api, { labels: { team: 'infra', env: 'prod' } });
      await revokeAgent(lister.api, infraDev.id);
    });

    it('lists an owner’s own agents, newest first', async () => {
      const reply = await lister.api.get('/v1/agents');
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ items: expect.any(Array), nextCursor: null });
      expect(ids(reply.body.items)).toEqual([dataProd.id, infraDev.id, infraProd.id]);
      expect(reply.body.items[0]).toEqual(dataProd);
    });

    it('filters by labels (all must match) and by status', async () => {
      const infra = await lister.api.get('/v1/agents?label=team=infra');
      expect(ids(infra.body.items)).toEqual([infraDev.id, infraProd.id]);
      const infraProdOnly = await lister.api.get('/v1/agents?label=team=infra&label=env=prod');
      expect(ids(infraProdOnly.body.items)).toEqual([infraProd.id]);
      const revoked = await lister.api.get('/v1/agents?status=revoked');
      expect(ids(revoked.body.items)).toEqual([infraDev.id]);
      expect(revoked.body.items[0]).toMatchObject({ status: 'revoked' });
    });

    it('pages with limit and cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const reply = await lister.api.get(`/v1/agents?limit=1${query}`);
        expect(reply.status).toBe(200);
        expect(reply.body.items.length).toBeLessThanOrEqual(1);
        seen.push(...ids(reply.body.items));
        cursor = reply.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seen).toEqual([dataProd.id, infraDev.id, infraProd.id]);
      // The third page, full, is the last: no cursor to an empty fourth.
      expect(pages).toBe(3);
    });

    it('never shows an owner another owner’s agents', async () => {
      const all = await lister.api.get('/v1/agents?label=team=infra&label=env=prod');
      expect(ids(all.body.items)).not.toContain(strangers.id);
      const asked = await lister.api.get(`/v1/agents?owner=${stranger.id}`);
      if (asked.status === 200) {
        expect(asked.body.items).toEqual([]);
      } else {
        expect(asked.status).toBe(403);
      }
    });

    it('shows responders and admins every owner’s agents, filterable by owner', async () => {
      for (const api of [responder.api, a.admin]) {
        const everyone = await listAll(api, 'label=team=infra&label=env=prod');
        expect(ids(everyone)).toEqual(expect.arrayContaining([infraProd.id, strangers.id]));
        const mine = await api.get(`/v1/agents?owner=${stranger.id}`);
        expect(ids(mine.body.items)).toEqual([strangers.id]);
      }
    });

    it.each([
      ['limit=abc', /^limit must be a whole number from 1 to \d+$/],
      ['limit=0', /^limit must be a whole number from 1 to \d+$/],
      ['limit=', /^limit must be a whole number from 1 to \d+$/],
      ['limit=0x10', /^limit must be a whole number from 1 to \d+$/],
      ['status=sleeping', /status/],
    ])('rejects a malformed query %s with 400', async (query, message) => {
      const reply = await lister.api.get(`/v1/agents?${query}`);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('bad_request');
      expect(reply.body.message).toMatch(message);
    });
  });

  describe('deleting', () => {
    it('lets only its owner or an admin delete an agent, once revoked; its leases die with it', async () => {
      const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
      for (const api of [otherOwner.api, viewer.api, responder.api]) {
        expect((await api.delete(`/v1/agents/${agent.id}`)).status).toBe(403);
      }
      // Active: deleting it would stop it around the kill path (nothing halted or rolled back).
      const active = await owner.api.delete(`/v1/agents/${agent.id}`);
      expect(active.status).toBe(409);
      expect(active.body.message).toMatch(/is active: revoke it first/);
      expect((await owner.api.get(`/v1/agents/${agent.id}`)).body).toEqual(agent);
      expect((await heartbeat(a, lease.token)).status).toBe(200);

      // Being stopped: its incident is still followed up (held so here), so it stays.
      const stop = await revokeAgent(owner.api, agent.id, 'retired');
      const redis = new Redis(REDIS_URL);
      const incidentKey = new Keys(deployment.config.keyPrefix).incident(stop.incidentId);
      try {
        await waitForIncident(owner.api, stop.incidentId);
        await redis.hset(incidentKey, 'status', 'following_up');
        const early = await owner.api.delete(`/v1/agents/${agent.id}`);
        expect(early.status).toBe(409);
        expect(early.body.message).toMatch(
          /is being stopped .*delete it once that incident is done/,
        );
      } finally {
        await redis.hset(incidentKey, 'status', 'done');
        redis.disconnect();
      }
      const reply = await owner.api.delete(`/v1/agents/${agent.id}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ id: agent.id, deleted: true });
      expect((await owner.api.get(`/v1/agents/${agent.id}`)).status).toBe(404);
      const hb = await heartbeat(b, lease.token);
      expect(hb.status).toBe(401);
      expect(hb.body.status).toBe('invalid');
      expect(ids(await listAll(owner.api))).not.toContain(agent.id);
      expect((await owner.api.delete(`/v1/agents/${agent.id}`)).status).toBe(404);

      const byAdmin = await createAgent(owner.api);
      expect((await a.admin.delete(`/v1/agents/${byAdmin.id}`)).status).toBe(409);
      await retireAgent(a.admin, byAdmin.id);
      expect((await a.admin.delete(`/v1/agents/${byAdmin.id}`)).status).toBe(200);
    });

    it('answers 400 for a malformed id', async () => {
      expect((await a.admin.delete('/v1/agents/nope')).status).toBe(400);
    });
  });

  describe('revoking and reinstating', () => {
    it('lets the owner, responders and admins revoke, not another owner or a viewer', async () => {
      for (const api of [owner.api, responder.api, a.admin]) {
        const agent = await createAgent(owner.api);
        const reply = await api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'r' });
        expect(reply.status).toBe(200);
        expect(reply.body).toMatchObject({ agentId: agent.id, status: 'revoked', epoch: 2 });
      }
      const agent = await createAgent(owner.api);
      for (const api of [otherOwner.api, viewer.api]) {
        const reply = await api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'r' });
        expect(reply.status).toBe(403);
      }
      expect((await owner.api.get(`/v1/agents/${agent.id}`)).body).toEqual(agent);
    });

    it('rejects a malformed revocation with 400 and changes nothing', async () => {
      const agent = await createAgent(owner.api);
      const reply = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 42 });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('bad_request');
      expect((await owner.api.get(`/v1/agents/${agent.id}`)).body).toEqual(agent);
      expect((await a.admin.post('/v1/agents/nope/revoke', { reason: 'r' })).status).toBe(400);
      expect(
        (await a.admin.post('/v1/agents/agt_0000000000000000/revoke', { reason: 'r' })).status,
      ).toBe(404);
    });

    it('lets only admins reinstate, with a reason, and bumps the epoch again', async () => {
      const agent = await createAgent(owner.api);
      const revocation = await revokeAgent(owner.api, agent.id);
      for (const api of [owner.api, responder.api, viewer.api]) {
        const reply = await api.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'fixed' });
        expect(reply.status).toBe(403);
      }
      const noReason = await a.admin.post(`/v1/agents/${agent.id}/reinstate`, {});
      expect(noReason.status).toBe(400);
      expect(noReason.body.error).toBe('bad_request');
      const still = await owner.api.get(`/v1/agents/${agent.id}`);
      expect(still.body).toMatchObject({ status: 'revoked', epoch: revocation.epoch });

      const reply = await a.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'fixed' });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        agentId: agent.id,
        status: 'active',
        epoch: revocation.epoch + 1,
      });
      const after = await owner.api.get(`/v1/agents/${agent.id}`);
      expect(after.body).toMatchObject({ status: 'active', epoch: revocation.epoch + 1 });
    });
  });

  describe('push over socket.io', () => {
    /** Connects as an agent runtime would; rejects with the server's connect_error. */
    const connect = (app: RunningApp, token: string | undefined) =>
      connected(openAgentSocket(app.url, token, sockets));

    /** The connect_error a refused runtime gets: the lease's state, for it to act on. */
    const refused = (status: string) => ({ message: `lease ${status}`, data: { status } });

    /** Records every `lease.revoked` event a socket receives, and its disconnection after. */
    const record = (socket: Socket) => {
      const events: any[] = [];
      socket.on('lease.revoked', (payload: unknown) => events.push(payload));
      socket.on('disconnect', (reason) => events.push({ disconnected: reason }));
      return events;
    };

    it('tells every connection of the agent, on every instance, and no other agent', async () => {
      const { agent: target, lease: targetLease } = await agentWithLease(owner.api, {
        ttlSeconds: 120,
      });
      const { agent: bystander, lease: bystanderLease } = await agentWithLease(owner.api, {
        ttlSeconds: 120,
      });

      const onB = record(await connect(b, targetLease.token));
      const onA = record(await connect(a, targetLease.token));
      const bystanderOnB = record(await connect(b, bystanderLease.token));

      // The revocation goes to instance A; the socket on instance B must hear of it.
      const revocation = await revokeAgent(owner.api, target.id, 'pushed');
      await waitFor(
        () => onB.length > 1 && onA.length > 1,
        10_000,
        'lease.revoked, then the disconnection, on both',
      );
      for (const events of [onB, onA]) {
        // Told first, then closed by the server (which a client does not reconnect after).
        expect(events).toEqual([
          expect.objectContaining({
            agentId: target.id,
            reason: 'pushed',
            revokedAt: revocation.revokedAt,
          }),
          { disconnected: 'io server disconnect' },
        ]);
      }
      expect(bystanderOnB).toEqual([]);

      // Revoke the bystander too: its first (and only) event must be its own.
      await revokeAgent(owner.api, bystander.id, 'second');
      await waitFor(() => bystanderOnB.length > 1, 10_000, 'the bystander’s own lease.revoked');
      expect(bystanderOnB).toEqual([
        expect.objectContaining({ agentId: bystander.id }),
        { disconnected: 'io server disconnect' },
      ]);
      expect(onB).toHaveLength(2);
    });

    it.each([
      ['no token', undefined],
      ['a malformed token', 'not-a-token'],
      ['an unknown lease token', `ksl_${'A'.repeat(43)}`],
    ])('refuses %s with connect_error', async (_, token) => {
      await expect(connect(b, token)).rejects.toMatchObject(refused('invalid'));
    });

    it('refuses an API key in place of a lease token', async () => {
      await expect(connect(b, owner.apiKey)).rejects.toMatchObject(refused('invalid'));
    });

    it('refuses the token of a revoked agent', async () => {
      const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
      await revokeAgent(owner.api, agent.id);
      await expect(connect(a, lease.token)).rejects.toMatchObject(refused('revoked'));
    });
  });
});
