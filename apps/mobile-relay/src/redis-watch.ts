import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { RedisService } from '@app/redis';

/** How often the relay checks that Redis answers. */
const WATCH_EVERY_MS = 2000;

/**
 * Whether this relay reaches Redis, checked every 2 s (a PING within HEALTH_REDIS_TIMEOUT_MS,
 * as readiness does), so that connected phones can be told when it stops and starts: while it
 * cannot, their live events stop coming and their stops are refused, with nothing on the
 * connection itself to show it.
 */
@Injectable()
export class RedisWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private up = true;
  private checking = false;
  private timer?: NodeJS.Timeout;
  private readonly listeners: Array<(up: boolean) => void> = [];

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  /** Calls `listener` with the new state each time Redis stops or starts answering. */
  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), WATCH_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking) {
      return;
    }
    this.checking = true;
    let up = true;
    try {
      await this.redis.ping(this.config.healthRedisTimeoutMs);
    } catch {
      up = false;
    } finally {
      this.checking = false;
    }
    if (up !== this.up) {
      this.up = up;
      this.listeners.forEach((listener) => listener(up));
    }
  }
}
