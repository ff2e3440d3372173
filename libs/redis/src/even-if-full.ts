import { join } from 'node:path';
import type Redis from 'ioredis';
import { defineScript, runScript } from './scripts';

const SCRIPT = join(__dirname, 'lua', 'write-even-if-full.lua');

/**
 * A write of a stop (its record for the sweeper, its incident's indexes, a timeline entry),
 * done even when Redis is out of memory: a stop must land then too, and each of its writes is
 * a few bytes. The stop's own scripts carry the same Redis flag (`allow-oom`); everything else
 * is refused until Redis has room.
 * One key per call, so that it is Redis Cluster's to route (see keys.ts). Sent with its text, so
 * that it runs before whatever is sent after it (a stop's record comes before its fence) even
 * when Redis' script cache has lost it: a few hundred bytes more per write.
 */
export function writeEvenIfFull(
  client: Redis,
  command: 'ZADD' | 'SADD' | 'RPUSH',
  key: string,
  ...args: (string | number)[]
): Promise<number> {
  defineScript(client, 'ksWriteEvenIfFull', SCRIPT);
  return runScript<number>(client, 'ksWriteEvenIfFull', [key], [command, ...args], {
    withText: true,
  });
}
