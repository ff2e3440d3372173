import { spawn, ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import Redis from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test file uses: isolation by name, never by FLUSHALL. */
export function testPrefix(label = 't'): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
}

/** Calls `each` with every batch of keys under a prefix, on a connection of its own (SCAN). */
async function eachBatchUnder(
  prefix: string,
  url: string,
  each: (redis: Redis, keys: string[]) => Promise<void>,
): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await each(redis, keys);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under a prefix (UNLINK in batches; SCAN never blocks Redis). */
export function deletePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  return eachBatchUnder(prefix, url, async (redis, keys) => {
    await redis.unlink(...keys);
  });
}

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') {
          resolve(address.port);
        } else {
          reject(new Error('no port'));
        }
      });
    });
  });
}

/** A throw-away redis-server of the test's own, for tests that stop or restart Redis. */
export class TestRedisServer {
  private process?: ChildProcess;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestRedisServer> {
    const server = new TestRedisServer(await freePort());
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () => {
        const probe = new Redis(this.url, {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          // A probe that never connected has ended already; disconnecting it again would leave
          // ioredis' 2 s socket-close timer running, which keeps Jest from exiting.
          if (probe.status !== 'end') {
            probe.disconnect();
          }
        }
      },
      10_000,
      `redis-server on port ${this.port}`,
    );
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) {
      return;
    }
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

/**
 * Every key under a prefix with its serialized value (DUMP), for "changed nothing" checks.
 * BullMQ's stalled-job check stamps a key of its own every few seconds: left out.
 */
export async function snapshotPrefix(
  prefix: string,
  url = REDIS_URL,
): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  await eachBatchUnder(prefix, url, async (redis, batch) => {
    const keys = batch.filter((key) => !key.endsWith(':stalled-check'));
    const pipeline = redis.pipeline();
    keys.forEach((key) => pipeline.dumpBuffer(key));
    const values = (await pipeline.exec()) ?? [];
    values.forEach(([error, value], i) => {
      if (error) {
        throw error;
      }
      if (value) {
        snapshot[keys[i]] = (value as Buffer).toString('hex');
      }
    });
  });
  return snapshot;
}

/**
 * Every key under a prefix with what a reader of Redis sees in it (a string's value, the
 * members, fields and values of a set, sorted set, hash or list), for "what is stored" checks.
 */
export async function readPrefix(prefix: string, url = REDIS_URL): Promise<Map<string, string[]>> {
  const read = new Map<string, string[]>();
  await eachBatchUnder(prefix, url, async (redis, keys) => {
    for (const key of keys) {
      const type = await redis.type(key);
      const values =
        type === 'string'
          ? [(await redis.get(key)) ?? '']
          : type === 'set'
            ? await redis.smembers(key)
            : type === 'zset'
              ? await redis.zrange(key, 0, -1)
              : type === 'hash'
                ? Object.entries(await redis.hgetall(key)).flat()
                : type === 'list'
                  ? await redis.lrange(key, 0, -1)
                  : [`(${type})`];
      read.set(key, values);
    }
  });
  return read;
}

/** Polls a condition until it holds or the bound passes; never a fixed sleep. */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = 'condition',
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
