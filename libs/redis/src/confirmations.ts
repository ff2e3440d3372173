import type Redis from 'ioredis';
import { writeEvenIfFull } from './even-if-full';

/**
 * Work that must be confirmed by a deadline, else a sweeper finishes it: a sorted set of
 * members scored by when they fall due. Marked before the step a crash could cut short,
 * confirmed once everything after it is written.
 */
export class Confirmations {
  private readonly evenIfFull: boolean;

  /**
   * @param options.evenIfFull - marks are written even when Redis is out of memory (a stop's:
   *   the stop lands then too, and must leave its record)
   */
  constructor(
    private readonly client: Redis,
    private readonly key: string,
    options: { evenIfFull?: boolean } = {},
  ) {
    this.evenIfFull = options.evenIfFull ?? false;
  }

  /** Sent at once: a command issued after this one on the same connection runs after it. */
  mark(member: string, dueAt: number): Promise<number> {
    return this.evenIfFull
      ? writeEvenIfFull(this.client, 'ZADD', this.key, dueAt, member)
      : this.client.zadd(this.key, dueAt, member);
  }

  async confirm(member: string): Promise<void> {
    await this.client.zrem(this.key, member);
  }

  /** Members due by `now`, at most `count`. */
  due(now: number, count: number): Promise<string[]> {
    return this.client.zrangebyscore(this.key, '-inf', now, 'LIMIT', 0, count);
  }
}
