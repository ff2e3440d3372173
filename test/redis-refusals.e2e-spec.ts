import Redis from 'ioredis';
import { RunningApp, startKillswitch, testConfig } from './support/apps';
import { agentWithLease, createUser, heartbeat, introspect } from './support/factories';
import { TestRedisServer } from './support/redis';

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
    const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
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
      const stop = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'full' });
      expect(stop.status).toBe(503);
      expect(stop.body).toEqual(oom);
    } finally {
      await control.config('SET', 'maxmemory', '0');
    }
    expect((await heartbeat(ks, lease.token)).status).toBe(200);
    expect((await introspect(ks.admin, lease.token)).body.active).toBe(true);
  });

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
});
