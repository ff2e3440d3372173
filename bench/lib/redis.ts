import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { connectOrExplain, Keys } from '@app/redis';
import type { BenchContext } from './runner';

/**
 * A key prefix no other deployment, test or benchmark uses, so that a benchmark shares the
 * Redis of the machine without touching anybody's keys (isolation by name, never FLUSHALL).
 */
export function benchPrefix(name: string): string {
  return `bench-${name}-${randomBytes(4).toString('hex')}`;
}

/**
 * A fresh prefix for one benchmark run, whose keys are deleted when the run ends, however it
 * ends; a key that survives the clean-up fails the run.
 */
export function claimPrefix(
  ctx: Pick<BenchContext, 'redisUrl' | 'defer' | 'log'>,
  name: string,
): string {
  const prefix = benchPrefix(name);
  ctx.defer(`delete ${prefix}:*`, async () => {
    const deleted = await deletePrefix(prefix, ctx.redisUrl);
    const left = await countPrefix(prefix, ctx.redisUrl);
    ctx.log(`deleted ${deleted} keys under ${prefix}:*, ${left} left`);
    if (left > 0) {
      throw new Error(`${left} keys under ${prefix}:* survived the clean-up`);
    }
  });
  return prefix;
}

/** A short-lived connection of the harness itself (never the one of an app under test). */
export async function withRedis<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T> {
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
export function deletePrefix(prefix: string, url: string): Promise<number> {
  return withRedis(url, async (redis) => {
    let deleted = 0;
    await scanPrefix(redis, prefix, async (keys) => {
      deleted += await redis.unlink(...keys);
    });
    return deleted;
  });
}

/** Counts the keys under a prefix (to prove a clean-up left nothing behind). */
export function countPrefix(prefix: string, url: string): Promise<number> {
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

/**
 * A connection of the harness that lives for a whole benchmark (pub/sub, queue inspection),
 * connected before it is returned. The caller closes it (`disconnect()`), best in a `defer`.
 */
export async function harnessConnection(
  url: string,
  options: { blocking?: boolean } = {},
): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // BullMQ's QueueEvents and blocking readers require this.
    maxRetriesPerRequest: options.blocking ? null : 1,
    connectionName: 'bench-harness',
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  await connectOrExplain(redis, url);
  return redis;
}

/**
 * The deployment's BullMQ queues of these names, where killswitch keeps them under `keyPrefix`
 * (`Keys.bullPrefix()`), on one harness connection, for the benchmark to pause, count or wait
 * on; closed when the run ends.
 */
export async function harnessQueues(
  ctx: BenchContext,
  keyPrefix: string,
  ...names: string[]
): Promise<Queue[]> {
  const connection = await harnessConnection(ctx.redisUrl);
  const prefix = new Keys(keyPrefix).bullPrefix();
  const queues = names.map((name) => new Queue(name, { connection, prefix }));
  ctx.defer('close the queues', async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    connection.disconnect();
  });
  return queues;
}

/** One entry of SLOWLOG GET. */
export interface SlowCommand {
  id: number;
  at: Date;
  micros: number;
  command: string;
  client: string;
}

/**
 * Watches Redis' slow log for the length of a piece of work: sets `slowlog-log-slower-than`
 * (microseconds), clears the log, and gives back what was logged; `restore()` puts the
 * previous threshold back (the Redis is shared: always call it, best in a `defer`).
 */
export async function watchSlowlog(url: string, thresholdMicros: number) {
  const previous = await withRedis(url, async (redis) => {
    const [, value] = (await redis.config('GET', 'slowlog-log-slower-than')) as string[];
    await redis.config('SET', 'slowlog-log-slower-than', String(thresholdMicros));
    await redis.call('SLOWLOG', 'RESET');
    return value;
  });
  let restored = false;
  return {
    previous,
    reset: () => withRedis(url, async (redis) => void (await redis.call('SLOWLOG', 'RESET'))),
    read: (count = 20): Promise<SlowCommand[]> =>
      withRedis(url, async (redis) => {
        const entries = (await redis.call('SLOWLOG', 'GET', count)) as [
          number,
          number,
          number,
          unknown[],
          string?,
          string?,
        ][];
        return entries.map((entry) => ({
          id: Number(entry[0]),
          at: new Date(Number(entry[1]) * 1000),
          micros: Number(entry[2]),
          command: entry[3].map(String).join(' ').slice(0, 160),
          client: `${entry[4] ?? ''} ${entry[5] ?? ''}`.trim(),
        }));
      }),
    restore: async () => {
      if (!restored) {
        restored = true;
        await withRedis(url, async (redis) => {
          await redis.config('SET', 'slowlog-log-slower-than', previous);
        });
      }
    },
  };
}

/** Calls and microseconds of Redis CPU per command so far (`INFO commandstats`). */
export type CommandStats = Map<string, { calls: number; micros: number }>;

export async function commandStats(url: string): Promise<CommandStats> {
  const info = await withRedis(url, (redis) => redis.info('commandstats'));
  const stats: CommandStats = new Map();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(match[1], { calls: Number(match[2]), micros: Number(match[3]) });
  }
  return stats;
}

/** What ran between two readings, the costliest first (commands over `minMicros` in all). */
export function commandStatsBetween(
  before: CommandStats,
  after: CommandStats,
  minMicros = 500,
): { command: string; calls: number; micros: number }[] {
  return [...after]
    .map(([command, now]) => {
      const then = before.get(command) ?? { calls: 0, micros: 0 };
      return { command, calls: now.calls - then.calls, micros: now.micros - then.micros };
    })
    .filter((delta) => delta.micros >= minMicros)
    .sort((a, b) => b.micros - a.micros);
}
