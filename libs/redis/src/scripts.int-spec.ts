import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { TestRedisServer } from '../../../test/support/redis';
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
    client = new Redis(server.url, { maxRetriesPerRequest: 20 });
    dir = mkdtempSync(join(tmpdir(), 'killswitch-scripts-'));
    defineScript(client, 'step', script('step', STEP));
  });

  afterAll(async () => {
    client.disconnect();
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

  it('runs after a Redis restart', async () => {
    await runScript(client, 'step', ['counter:c'], [1]);
    await server.stop();
    await server.start();
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
