import { Logger } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from '@app/config';

const logger = new Logger('Redis');

/**
 * What a connection is for decides how it behaves when Redis goes away:
 * - `command`: request/response work on behalf of a caller; fails fast (no offline queue) so
 *   that an unreachable Redis answers "no" at once instead of hanging: fail closed.
 * - `producer`: BullMQ queues that add jobs; fail fast like `command`.
 * - `worker`: BullMQ workers and blocking readers; BullMQ requires `maxRetriesPerRequest: null`.
 * - `subscriber`: pub/sub; must keep retrying forever and re-subscribe on reconnect.
 */
export type ConnectionRole = 'command' | 'producer' | 'worker' | 'subscriber';

const roleOptions: Record<ConnectionRole, RedisOptions> = {
  command: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  worker: { maxRetriesPerRequest: null, enableReadyCheck: false },
  subscriber: { maxRetriesPerRequest: null },
};

/**
 * Builds an ioredis connection from REDIS_URL. The caller owns it and must close it.
 *
 * @param url - `redis://` or `rediss://` URL, with optional password and database number.
 * @param role - how the connection behaves while Redis is unreachable.
 * @param name - shown by `CLIENT LIST`, which makes leaked connections easy to spot.
 * @param commandTimeoutMs - for `command` and `producer` connections, how long a command may
 *   wait for its answer before it fails as "Redis unavailable".
 */
export function createRedisConnection(
  url: string,
  role: ConnectionRole,
  name: string,
  commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
): Redis {
  const failsFast = role === 'command' || role === 'producer';
  const client = new Redis(url, {
    ...roleOptions[role],
    // A Redis that is connected but does not answer (paused, overloaded, a network that drops
    // packets) would otherwise hold every caller until it answers, or until TCP gives up many
    // minutes later: a caller gets 503 instead. Blocking readers wait on purpose: not them.
    ...(failsFast ? { commandTimeout: commandTimeoutMs } : {}),
    // Probes an idle connection, so that a Redis that vanished without closing it is noticed.
    keepAlive: 10_000,
    connectionName: name,
    lazyConnect: true,
    // Reconnect forever with a capped delay: health turns ready again on its own.
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  // Without a listener ioredis prints every reconnect failure as "Unhandled error event".
  // Say it once per outage instead; readiness reports the state.
  let warned = false;
  client.on('error', (error: Error) => {
    if (!warned && client.status !== 'connecting' && client.status !== 'wait') {
      warned = true;
      logger.warn(`Redis connection ${name} lost: ${error.message}; reconnecting`);
    }
  });
  client.on('ready', () => {
    warned = false;
  });
  return client;
}

/** Connects a lazily created connection, turning the first failure into one clear message. */
export async function connectOrExplain(client: Redis, url: string): Promise<void> {
  // connect() rejects with a bare "Connection is closed"; the error event says why.
  let cause: string | undefined;
  const remember = (error: Error) => {
    cause ??= error.message;
  };
  client.once('error', remember);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const reason = cause ?? (error instanceof Error ? error.message : String(error));
    throw new Error(
      `Redis at ${redactUrl(url)} did not answer (${reason}). Start Redis or set REDIS_URL.`,
    );
  } finally {
    client.off('error', remember);
  }
}

/** Hides a password in a Redis URL before it reaches a log line. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = '***';
    }
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}

/** Closes a connection politely, then forcibly if Redis does not answer QUIT in time. */
export async function closeConnection(client: Redis, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') {
    return;
  }
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    // QUIT failing means the socket is already going away; disconnect below finishes it.
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/**
 * True for the errors ioredis raises when Redis cannot be reached (offline, reconnecting,
 * retries exhausted, no answer within the command timeout), and for Redis' refusals to serve
 * (out of memory, a read-only replica, loading, busy): callers answer 503 and refuse to act,
 * never 500, never "allowed".
 */
export function isRedisUnavailable(error: unknown): boolean {
  return redisUnavailableReason(error) !== undefined;
}

/**
 * Why Redis cannot serve, as a sentence for people ending in what killswitch does about it,
 * when `error` says it cannot (see isRedisUnavailable).
 */
export function redisUnavailableReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) {
    return undefined;
  }
  if (
    error.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE/.test(
      error.message,
    )
  ) {
    return 'Redis is unreachable; refusing to act until it is back';
  }
  if (error.message === 'Command timed out') {
    return 'Redis did not answer in time; refusing to act until it does';
  }
  // Redis' own refusals start with their code: the whole server refuses, not this request.
  const code = /^([A-Z]+) /.exec(error.message)?.[1];
  return code === undefined ? undefined : REFUSALS[code];
}

const REFUSALS: Record<string, string> = {
  OOM:
    'Redis is out of memory (maxmemory reached) and refuses writes; refusing to act until it ' +
    'has room',
  READONLY:
    'Redis is a read-only replica (a failover may be under way); refusing to act until a ' +
    'primary answers',
  MASTERDOWN: "Redis' replica has lost its primary; refusing to act until it is back",
  LOADING: 'Redis is loading its data; refusing to act until it has',
  BUSY: 'Redis is busy running a long script; refusing to act until it is done',
  MISCONF: 'Redis cannot save to disk and refuses writes; refusing to act until it can',
};
