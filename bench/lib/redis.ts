import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { connectOrExplain } from '@app/redis';

/**
 * A key prefix no other deployment, test or benchmark uses, so that a benchmark shares the
 * Redis of the machine without touching anybody's keys (isolation by name, never FLUSHALL).
 */
export function benchPrefix(name: string): string {
  return `bench-${name}-${randomBytes(4).toString('hex')}`;
}

/** A short-lived connection of the harness itself (never the one of an app under test). */
async function withRedis<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectionName: 'bench-harness',
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await connectOrExplain(redis, url);
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Visits every key under a prefix with SCAN, which never blocks Redis the way KEYS does. */
async function scanPrefix(
  redis: Redis,
  prefix: string,
  visit: (keys: string[]) => Promise<void>,
): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) {
      await visit(keys);
    }
  } while (cursor !== '0');
}

/**
 * Deletes every key under a prefix (SCAN, then UNLINK in batches).
 *
 * @returns how many keys were deleted.
 */
export function deletePrefix(url: string, prefix: string): Promise<number> {
  return withRedis(url, async (redis) => {
    let deleted = 0;
    await scanPrefix(redis, prefix, async (keys) => {
      deleted += await redis.unlink(...keys);
    });
    return deleted;
  });
}

/** Counts the keys under a prefix (to prove a clean-up left nothing behind). */
export function countPrefix(url: string, prefix: string): Promise<number> {
  return withRedis(url, async (redis) => {
    let count = 0;
    await scanPrefix(redis, prefix, (keys) => {
      count += keys.length;
      return Promise.resolve();
    });
    return count;
  });
}

/** Sets one string key (fixtures such as the value a baseline endpoint reads). */
export function setKey(url: string, key: string, value: string): Promise<void> {
  return withRedis(url, async (redis) => {
    await redis.set(key, value);
  });
}

/** The `redis_version` field of `INFO server`. */
export function redisVersion(url: string): Promise<string> {
  return withRedis(url, async (redis) => {
    const info = await redis.info('server');
    return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  });
}

/**
 * CPU seconds (user + system) the Redis server has used since it started, from `INFO cpu`.
 * Redis is shared: other clients' work counts too.
 */
export function redisCpuSeconds(url: string): Promise<number | undefined> {
  return withRedis(url, async (redis) => {
    const info = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1]);
    const total = field('used_cpu_user') + field('used_cpu_sys');
    return Number.isFinite(total) ? total : undefined;
  });
}
