import {
  RunningApp,
  startKillswitch,
  startRelay,
  testConfig,
  TestDeployment,
} from './support/apps';
import { waitUntilReady } from './support/http';
import { TestRedisServer } from './support/redis';

describe('health', () => {
  describe('both apps against the shared Redis', () => {
    const deployment = new TestDeployment();
    let killswitch: RunningApp;
    let relay: RunningApp;

    beforeAll(async () => {
      killswitch = await deployment.killswitch();
      relay = await deployment.relay();
    });

    afterAll(() => deployment.close());

    it.each(['killswitch', 'relay'])('%s answers live and ready with 200', async (which) => {
      const app = which === 'killswitch' ? killswitch : relay;
      const live = await app.anonymous.get('/health/live');
      expect(live.status).toBe(200);
      expect(live.body.status).toBe('ok');
      const ready = await app.anonymous.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.redis.status).toBe('up');
    });

    it('says an API-only instance (WORKERS=off) runs no workers of either kind', async () => {
      const apiOnly = await startKillswitch({ ...killswitch.config, workers: false });
      try {
        const ready = await apiOnly.anonymous.get('/health/ready');
        expect(ready.status).toBe(200);
        expect(ready.body.details.workers).toEqual({ status: 'up', workers: 'off' });
        expect(ready.body.details['revocation-workers']).toEqual({ status: 'up', workers: 'off' });
      } finally {
        await apiOnly.close();
      }
    });

    it('serves the OpenAPI document at /docs', async () => {
      const html = await killswitch.anonymous.get('/docs');
      expect(html.status).toBe(200);
      const spec = await killswitch.anonymous.get('/docs/openapi.json');
      expect(spec.status).toBe(200);
      expect(Object.keys(spec.body.paths)).toEqual(
        expect.arrayContaining(['/health/ready', '/v1/users']),
      );
    });
  });

  describe('when Redis goes away', () => {
    let redis: TestRedisServer;
    let killswitch: RunningApp;
    let relay: RunningApp;

    beforeAll(async () => {
      redis = await TestRedisServer.start();
      const config = testConfig({ redisUrl: redis.url, healthRedisTimeoutMs: 300 });
      killswitch = await startKillswitch(config);
      relay = await startRelay(config);
    });

    afterAll(async () => {
      await killswitch?.close();
      await relay?.close();
      await redis?.stop();
    });

    it('ready answers 503 naming Redis, then recovers by itself', async () => {
      for (const app of [killswitch, relay]) {
        expect((await app.anonymous.get('/health/ready')).status).toBe(200);
      }

      await redis.stop();
      for (const app of [killswitch, relay]) {
        const down = await app.anonymous.get('/health/ready');
        expect(down.status).toBe(503);
        expect(down.body.error.redis.status).toBe('down');
        // What failed, not the client's error: its text can name the Redis host and port.
        expect(down.body.error.redis.message).toMatch(
          /^(PING failed; the app's log has the error|no answer within 300 ms)$/,
        );
        expect(JSON.stringify(down.body)).not.toContain(String(redis.port));
        // Liveness is about the process, not its dependencies.
        expect((await app.anonymous.get('/health/live')).status).toBe(200);
      }

      await redis.start();
      for (const app of [killswitch, relay]) {
        await waitUntilReady(app.anonymous, 15_000, 'ready to recover');
      }
    });
  });
});
