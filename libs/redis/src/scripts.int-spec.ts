import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { TestRedisServer, waitFor } from '../../../test/support/redis';
import {
  closeConnection,
  connectOrExplain,
  createRedisConnection,
  isRedisUnavailable,
} from './connection';
import { writeEvenIfFull } from './even-if-full';
import { defineScript, runScript } from './scripts';

const STEP = "return redis.call('INCRBY', KEYS[1], ARGV[1])";

// A Redis of its own: the test flushes its script cache and restarts it.
describe('Lua scripts (real Redis)', () => {
  let server: TestRedisServer;
  let client: Redis;
  let dir: string;

  const script = (name: string, lua: string) => {
    const file = join(dir, `${name}.lua`);
    writeFileSync(file, lua);
    return file;
  };

  beforeAll(async () => {
    server = await TestRedisServer.start();
    // As the app's connections are: no offline queue, so a call while Redis is away fails fast.
    client = createRedisConnection(server.url, 'command', 'scripts-spec');
    await connectOrExplain(client, server.url);
    dir = mkdtempSync(join(tmpdir(), 'killswitch-scripts-'));
    defineScript(client, 'step', script('step', STEP));
  });

  afterAll(async () => {
    await closeConnection(client);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs with the keys and arguments given', async () => {
    await expect(runScript(client, 'step', ['counter:a'], [2])).resolves.toBe(2);
    await expect(runScript(client, 'step', ['counter:a'], [3])).resolves.toBe(5);
  });

  it('runs once, and is cached again, after Redis lost its script cache', async () => {
    await runScript(client, 'step', ['counter:b'], [1]);
    await client.script('FLUSH');
    await expect(runScript(client, 'step', ['counter:b'], [1])).resolves.toBe(2);
    const sha = createHash('sha1').update(STEP).digest('hex');
    expect(await client.script('EXISTS', sha)).toEqual([1]);
  });

  it('fails fast while Redis is away, and runs again once it is back', async () => {
    await runScript(client, 'step', ['counter:c'], [1]);
    await server.stop();
    const away = await runScript(client, 'step', ['counter:c'], [1]).catch((e: unknown) => e);
    expect(isRedisUnavailable(away)).toBe(true);

    await server.start();
    await waitFor(() => client.status === 'ready', 10_000, 'the connection to come back');
    // The restarted Redis keeps nothing: the counter starts again, and the script is sent anew.
    await expect(runScript(client, 'step', ['counter:c'], [4])).resolves.toBe(4);
  });

  it("passes a script's own error on without running it again", async () => {
    defineScript(
      client,
      'failing',
      script('failing', "redis.call('INCR', KEYS[1]); return redis.error_reply('boom')"),
    );
    await expect(runScript(client, 'failing', ['counter:d'], [])).rejects.toThrow('boom');
    expect(await client.get('counter:d')).toBe('1');
  });

  it('expands --- @include lines', async () => {
    script('twice', 'local n = tonumber(ARGV[1]) * 2\n');
    defineScript(
      client,
      'doubled',
      script('doubled', '--- @include "twice.lua"\nreturn redis.call(\'INCRBY\', KEYS[1], n)'),
    );
    await expect(runScript(client, 'doubled', ['counter:e'], [21])).resolves.toBe(42);
  });

  it("writes a stop's few commands even when Redis is out of memory, and nothing else", async () => {
    await client.config('SET', 'maxmemory', '1');
    try {
      // What a plain write gets then, and what every write but a stop's gets.
      await expect(client.zadd('full:plain', 1, 'a')).rejects.toThrow(/^OOM /);
      await expect(writeEvenIfFull(client, 'ZADD', 'full:index', 5, 'inc_1')).resolves.toBe(1);
      await expect(writeEvenIfFull(client, 'SADD', 'full:set', 'a', 'b')).resolves.toBe(2);
      await expect(writeEvenIfFull(client, 'RPUSH', 'full:list', 'x')).resolves.toBe(1);
      await expect(writeEvenIfFull(client, 'SET' as 'ZADD', 'full:other', 'v')).rejects.toThrow(
        'write-even-if-full does not run SET',
      );
    } finally {
      await client.config('SET', 'maxmemory', '0');
    }
    expect(await client.zrange('full:index', 0, -1, 'WITHSCORES')).toEqual(['inc_1', '5']);
    expect((await client.smembers('full:set')).sort()).toEqual(['a', 'b']);
    expect(await client.lrange('full:list', 0, -1)).toEqual(['x']);
    expect(await client.exists('full:plain', 'full:other')).toBe(0);
  });

  it("runs a stop's write before what is sent after it, even when Redis lost its script", async () => {
    // A stop sends its record, then its fence, without waiting: the record must run first.
    await writeEvenIfFull(client, 'ZADD', 'order:warm', 1, 'a');
    await client.script('FLUSH');
    const written = writeEvenIfFull(client, 'ZADD', 'order:record', 7, 'stop_1');
    const seen = client.zscore('order:record', 'stop_1');
    await expect(written).resolves.toBe(1);
    await expect(seen).resolves.toBe('7');
  });

  it('sent with its text, runs where the cache lacks it, before what follows', async () => {
    await client.script('FLUSH');
    const stepped = runScript(client, 'step', ['counter:g'], [5], { withText: true });
    const read = client.get('counter:g');
    await expect(stepped).resolves.toBe(5);
    await expect(read).resolves.toBe('5');
  });

  it('refuses a script that was not defined on the connection', async () => {
    const other = new Redis(server.url, { lazyConnect: true });
    try {
      await expect(runScript(other, 'step', ['counter:f'], [1])).rejects.toThrow(
        'Lua script step was not defined on this connection',
      );
    } finally {
      other.disconnect();
    }
  });
});
