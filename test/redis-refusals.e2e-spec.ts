import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { RunningApp, startKillswitch, startRelay, testConfig } from './support/apps';
import {
  agentWithLease,
  connected,
  createAgent,
  createUser,
  heartbeat,
  introspect,
  registerWebhookType,
  waitForAction,
  waitForIncident,
} from './support/factories';
import { TestRedisServer, waitFor } from './support/redis';
import { Api } from './support/http';
import { json, ToolServer } from './support/tool-server';

// Redis that is there but will not serve: out of memory, or not answering at all. Every call
// that needs it answers 503 saying why, never 500, never "active"; none hangs.
describe('when Redis refuses to serve', () => {
  let redis: TestRedisServer;
  let control: Redis;
  let ks: RunningApp;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    control = new Redis(redis.url);
    ks = await startKillswitch(testConfig({ redisUrl: redis.url, redisCommandTimeoutMs: 300 }));
  });

  afterAll(async () => {
    await ks?.close();
    control?.disconnect();
    await redis?.stop();
  });

  it('answers 503 naming the cause while Redis is out of memory, and recovers', async () => {
    const owner = await createUser(ks, 'owner');
    const { lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
    const oom = {
      error: 'unavailable',
      message:
        'Redis is out of memory (maxmemory reached) and refuses writes; refusing to act until ' +
        'it has room',
    };
    await control.config('SET', 'maxmemory', '1');
    try {
      const beat = await heartbeat(ks, lease.token);
      expect(beat.status).toBe(503);
      expect(beat.body).toEqual(oom);
    } finally {
      await control.config('SET', 'maxmemory', '0');
    }
    expect((await heartbeat(ks, lease.token)).status).toBe(200);
    expect((await introspect(ks.admin, lease.token)).body.active).toBe(true);
  });

  // A runaway agent may be what filled Redis: a stop, from the API, a responder or a phone,
  // must land then most of all. Its follow-up (BullMQ jobs) waits for room.
  it('lands stops while Redis is out of memory, and follows them up once it has room', async () => {
    const tools = new ToolServer();
    await tools.start();
    const relay = await startRelay(ks.config);
    let socket: Socket | undefined;
    try {
      tools.on('/archive', (_request, response) =>
        json(response, 200, { result: { archived: true }, undo: { restore: 'm-1' } }),
      );
      tools.on('/restore', (_request, response) => json(response, 200, {}));
      await registerWebhookType(ks.admin, tools, 'test.restore', { path: '/restore' });
      await registerWebhookType(ks.admin, tools, 'test.archive', {
        path: '/archive',
        reversible: true,
        compensation: 'test.restore',
      });
      const owner = await createUser(ks, 'owner');
      const single = await agentWithLease(owner.api, {
        allowedActions: ['test.archive'],
        ttlSeconds: 120,
      });
      const archived = (await single.asAgent.post('/v1/actions', { type: 'test.archive' })).body
        .id as string;
      expect(await waitForAction(ks.admin, archived)).toMatchObject({ status: 'succeeded' });
      const team = { team: `oom-${randomUUID()}` };
      const fleet = [
        await agentWithLease(owner.api, { labels: team, ttlSeconds: 120 }),
        await agentWithLease(owner.api, { labels: team, ttlSeconds: 120 }),
      ];
      const pocket = await agentWithLease(owner.api, { ttlSeconds: 120 });
      // Over 100: queued by one fan-out job, after the call answered.
      const division = { division: `oom-${randomUUID()}` };
      await Promise.all(
        Array.from({ length: 101 }, () => createAgent(owner.api, { labels: division })),
      );
      const { code } = (await owner.api.post('/v1/devices/pairing-codes')).body as { code: string };
      const paired = await new Api(relay.url).post('/v1/pair', { code, deviceName: 'phone' });
      socket = await connected(
        io(`${relay.url}/devices`, {
          auth: { token: paired.body.deviceToken },
          transports: ['websocket'],
          reconnection: false,
        }),
      );
      const active = async (token: string) =>
        (await introspect(ks.admin, token)).body.active as boolean;

      await control.config('SET', 'maxmemory', '1');
      let stops: { single: string; bulk: string; phone: string; large: string };
      try {
        // Only stops: the agent's own writes are refused, as every write but a stop's is.
        const submitted = await single.asAgent.post('/v1/actions', { type: 'test.archive' });
        expect(submitted.status).toBe(503);
        expect(submitted.body.message).toMatch(/^Redis is out of memory/);
        const stop = await owner.api.post(`/v1/agents/${single.agent.id}/revoke`, {
          reason: 'full',
        });
        expect(stop.status).toBe(200);
        expect(await active(single.lease.token)).toBe(false);
        // The agent's heartbeat says why it must stop (it writes nothing for a revoked lease).
        expect((await heartbeat(ks, single.lease.token)).status).toBe(401);
        const bulk = await ks.admin.post('/v1/revocations', {
          selector: { labels: team },
          reason: 'full',
        });
        expect(bulk.status).toBe(200);
        expect(bulk.body.agents).toBe(2);
        expect(await Promise.all(fleet.map(({ lease }) => active(lease.token)))).toEqual([
          false,
          false,
        ]);
        // Sent again (a 503 elsewhere, a second responder): changes nothing, names that stop.
        const again = await ks.admin.post('/v1/revocations', {
          selector: { labels: team },
          reason: 'full',
        });
        expect(again.status).toBe(200);
        expect(again.body).toMatchObject({ incidentId: bulk.body.incidentId, agents: 2 });
        const ack = await socket.timeout(5000).emitWithAck('stop', {
          agentId: pocket.agent.id,
          requestId: randomUUID(),
        });
        expect(ack).toMatchObject({ ok: true, agents: 1, alreadyRevoked: 0 });
        expect(await active(pocket.lease.token)).toBe(false);
        const large = await ks.admin.post('/v1/revocations', {
          selector: { labels: division },
          reason: 'full',
        });
        expect(large.status).toBe(200);
        expect(large.body.agents).toBe(101);
        stops = {
          single: stop.body.incidentId,
          bulk: bulk.body.incidentId,
          phone: ack.incidentId,
          large: large.body.incidentId,
        };
        const waits = (incident: { timeline: { step: string; outcome: string }[] }) =>
          incident.timeline.some((e) => e.step === 'follow-up' && e.outcome === 'waiting');
        for (const id of [stops.bulk, stops.phone]) {
          expect(waits((await ks.admin.get(`/v1/incidents/${id}`)).body)).toBe(true);
        }
        // Noted just after the answer, as its fan-out is queued then.
        await waitFor(
          async () => waits((await ks.admin.get(`/v1/incidents/${stops.large}`)).body),
          5000,
          'the large stop to say its follow-up waits',
        );

        // Readable at once, and saying why nothing follows yet.
        const incident = (await owner.api.get(`/v1/incidents/${stops.single}`)).body;
        expect(incident).toMatchObject({ status: 'following_up', counts: { fenced: 1 } });
        expect(incident.timeline.map((e: { step: string }) => e.step)).toEqual([
          'revoke',
          'fence',
          'follow-up',
        ]);
        expect(incident.timeline[2]).toMatchObject({
          actor: 'killswitch',
          outcome: 'waiting',
          detail: expect.stringContaining('Redis is out of memory'),
        });
        expect(tools.received('/restore')).toHaveLength(0);
      } finally {
        await control.config('SET', 'maxmemory', '0');
      }

      // Once Redis has room, the sweeper queues what waited: the rollback runs, once.
      const followed = await waitForIncident(owner.api, stops.single, { timeoutMs: 20_000 });
      expect(followed.counts).toMatchObject({ fenced: 1, rolledBack: 1, needsReview: 0 });
      expect(tools.received('/restore').map((r) => r.body.params)).toEqual([{ restore: 'm-1' }]);
      expect((await waitForIncident(ks.admin, stops.bulk)).counts.fenced).toBe(2);
      expect((await waitForIncident(owner.api, stops.phone)).counts.fenced).toBe(1);
      expect((await waitForIncident(ks.admin, stops.large)).counts.fenced).toBe(101);
    } finally {
      await control.config('SET', 'maxmemory', '0');
      socket?.disconnect();
      await relay.close();
      await tools.stop();
    }
  }, 60_000);

  it('answers 503 at once, not when Redis answers again, while Redis is paused', async () => {
    const owner = await createUser(ks, 'owner');
    const { lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
    const late = {
      error: 'unavailable',
      message: 'Redis did not answer in time; refusing to act until it does',
    };
    const pausedAt = Date.now();
    await control.call('CLIENT', 'PAUSE', '3000', 'ALL');
    const [beat, seen] = await Promise.all([
      heartbeat(ks, lease.token),
      introspect(ks.admin, lease.token),
    ]);
    // Both answered long before the pause ends (300 ms of command timeout, then the answer).
    expect(Date.now() - pausedAt).toBeLessThan(2000);
    expect(beat.status).toBe(503);
    expect(beat.body).toEqual(late);
    expect(seen.status).toBe(503);
    expect(seen.body.active).not.toBe(true);
    await control.ping(); // answered once the pause is over
    expect((await heartbeat(ks, lease.token)).status).toBe(200);
  });

  it('cuts an action whose job cannot renew its lock, before another worker runs it again', async () => {
    const tools = new ToolServer();
    await tools.start();
    try {
      // Each run of the action: when it reached the tool server, and when its request ended
      // (cut by the worker, or answered after 30 s).
      const runs: Array<{ start: number; end?: number }> = [];
      tools.on('/long', (_request, response) => {
        const run: { start: number; end?: number } = { start: Date.now() };
        runs.push(run);
        const answer = setTimeout(() => json(response, 200, {}), 30_000);
        response.on('close', () => {
          clearTimeout(answer);
          run.end = Date.now();
        });
      });
      await registerWebhookType(ks.admin, tools, 'test.long', { path: '/long', timeoutMs: 40_000 });
      const { asAgent } = await agentWithLease(ks.admin, {
        allowedActions: ['test.long'],
        ttlSeconds: 120,
      });
      const id = (await asAgent.post('/v1/actions', { type: 'test.long' })).body.id as string;
      await waitFor(() => runs.length === 1, 10_000, 'the action to reach the tool server');

      // Redis stops answering for longer than a job's lock lasts (10 s): the worker cannot
      // renew it, and once Redis answers again another run of the job may start.
      await control.call('CLIENT', 'PAUSE', '12000', 'ALL');
      await waitFor(() => runs.length === 2, 40_000, 'the job to run again');
      // The first run was cut before the second began: never two at once.
      expect(runs[0].end).toBeDefined();
      expect(runs[0].end ?? Infinity).toBeLessThanOrEqual(runs[1].start);
      expect(runs[0].end ?? Infinity).toBeLessThan(runs[0].start + 12_000);
      // The same attempt run again, not a failed one: a lost lock uses up none of its retries.
      expect(tools.received('/long').map((r) => r.body.attempt)).toEqual([1, 1]);
      expect((await ks.admin.get(`/v1/actions/${id}`)).body.status).toBe('running');
    } finally {
      await tools.stop();
    }
  }, 60_000);

  it("keeps an action's outcome that came back while Redis refused writes for a moment", async () => {
    const tools = new ToolServer();
    await tools.start();
    try {
      let restored!: Promise<void>;
      // The tool server acts, and Redis refuses every write (out of memory) as it answers,
      // for 1.5 s: the worker's record of the outcome, its undo included, must wait for it.
      tools.on('/archive', (_request, response) => {
        restored = (async () => {
          await control.config('SET', 'maxmemory', '1');
          json(response, 200, { result: { archived: true }, undo: { restore: 'm-1' } });
          await new Promise((resolve) => setTimeout(resolve, 1500));
          await control.config('SET', 'maxmemory', '0');
        })();
      });
      await registerWebhookType(ks.admin, tools, 'test.archive', { path: '/archive' });
      const { asAgent } = await agentWithLease(ks.admin, {
        allowedActions: ['test.archive'],
        ttlSeconds: 120,
      });
      const id = (await asAgent.post('/v1/actions', { type: 'test.archive' })).body.id as string;
      await waitFor(() => tools.received('/archive').length === 1, 10_000, 'the tool server call');
      await restored;
      // Recorded once Redis took writes again, not lost to a re-run of the job (which would
      // start only once its lock lapsed, 10 s on, and call the tool server a second time).
      const action = await waitForAction(ks.admin, id, { timeoutMs: 5000 });
      expect(action).toMatchObject({ status: 'succeeded', attempts: 1, undo: { restore: 'm-1' } });
      expect(tools.received('/archive')).toHaveLength(1);
    } finally {
      await control.config('SET', 'maxmemory', '0');
      await tools.stop();
    }
  }, 30_000);

  it("tells a relay's connected phones when it loses Redis, and sends a fresh snapshot once back", async () => {
    const relay = await startRelay(ks.config);
    let socket: Socket | undefined;
    try {
      const owner = await createUser(ks, 'owner');
      const { code } = (await owner.api.post('/v1/devices/pairing-codes')).body as { code: string };
      const paired = await new Api(relay.url).post('/v1/pair', { code, deviceName: 'phone' });
      const events: Array<[string, unknown]> = [];
      socket = io(`${relay.url}/devices`, {
        auth: { token: paired.body.deviceToken },
        transports: ['websocket'],
        reconnection: false,
      });
      socket.onAny((event: string, payload: unknown) => events.push([event, payload]));
      await waitFor(() => events.some(([e]) => e === 'snapshot'), 5000, 'the first snapshot');
      events.length = 0;

      await control.call('CLIENT', 'PAUSE', '5000', 'ALL');
      await waitFor(() => events.length > 0, 5000, 'the phone to be told');
      expect(events[0]).toEqual(['relay.status', { redis: 'down', at: expect.any(String) }]);
      await waitFor(() => events.length >= 3, 10_000, 'the phone to be told again');
      expect(events[1]).toEqual(['relay.status', { redis: 'up', at: expect.any(String) }]);
      expect(events[2][0]).toBe('snapshot');
      expect(socket.connected).toBe(true);
    } finally {
      socket?.disconnect();
      await relay.close();
    }
  }, 30_000);
});
