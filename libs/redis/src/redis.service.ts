import { OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@app/config';
import { closeConnection, connectOrExplain, createRedisConnection } from './connection';
import { Keys } from './keys';

/** Redis did not answer {@link RedisService.ping} in time (as opposed to answering with an error). */
export class PingTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'PingTimeoutError';
  }
}

/**
 * Owns the command connection of one app instance: created from config, closed at shutdown.
 * Repositories use `client`; nothing else opens a command connection of its own.
 */

export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  readonly keys: Keys;

  constructor(private readonly config: AppConfig) {
    this.client = createRedisConnection(
      config.redisUrl,
      'command',
      `${config.keyPrefix}:command`,
      config.redisCommandTimeoutMs,
    );
    this.keys = new Keys(config.keyPrefix);
  }

  async connect(): Promise<void> {
    await connectOrExplain(this.client, this.config.redisUrl);
  }

  /** Opens a further connection owned by the caller (workers, subscribers). */
  duplicate(role: 'producer' | 'worker' | 'subscriber', name: string): Redis {
    return createRedisConnection(
      this.config.redisUrl,
      role,
      `${this.config.keyPrefix}:${name}`,
      this.config.redisCommandTimeoutMs,
    );
  }

  /** Answers whether Redis replies to PING within the timeout. */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new PingTimeoutError(timeoutMs)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await closeConnection(this.client);
  }
}
