import { createServer } from 'node:net';
import { MAINS, runToEnd } from './support/process';
import { deletePrefix, freePort, REDIS_URL, testPrefix } from './support/redis';

/** Runs a built app as `npm start` would and collects how it ended. */
const run = (main: string, env: Record<string, string>) =>
  runToEnd(main, [], { LOG_LEVEL: 'silent', ...env }, 15_000);

/** Runs it against the test Redis under a key prefix of its own, removed afterwards. */
async function runOnRedis(main: string, env: Record<string, string>) {
  const prefix = testPrefix('startup');
  try {
    return await run(main, { REDIS_URL, KEY_PREFIX: prefix, WORKERS: 'off', ...env });
  } finally {
    await deletePrefix(prefix);
  }
}

describe.each(Object.entries(MAINS))('%s start-up', (name, main) => {
  it.each([
    ['a malformed REDIS_URL', { REDIS_URL: 'localhost:6379' }, /REDIS_URL must be a URL/],
    [
      'a port that is not a number',
      { KILLSWITCH_PORT: 'eighty', RELAY_PORT: 'eighty' },
      /_PORT must be a TCP port/,
    ],
    [
      'a port out of range',
      { KILLSWITCH_PORT: '99999', RELAY_PORT: '99999' },
      /_PORT must be between 1 and 65535/,
    ],
    ['a HOST that is no address', { HOST: 'not a host' }, /HOST must be an address of this/],
    [
      'an agent concurrency over the most an agent may have',
      { ACTION_AGENT_CONCURRENCY: '17' },
      /ACTION_AGENT_CONCURRENCY must be between 1 and 16/,
    ],
    [
      'a RELAY_PUBLIC_URL phones cannot open',
      { RELAY_PUBLIC_URL: 'ftp://stop.example.com' },
      /RELAY_PUBLIC_URL must be the http\(s\) URL phones open/,
    ],
  ])('stops with one clear line for %s', async (_, env, message) => {
    const result = await run(main, env);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${name}: cannot start: Invalid configuration: `));
    expect(lines[0]).toMatch(message);
  });

  it('stops with one clear line when Redis does not answer', async () => {
    const port = await freePort();
    const result = await run(main, { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`Redis at redis://127.0.0.1:${port}.* did not answer.*REDIS_URL`),
      ),
    ]);
  });

  it('stops with one clear line naming HOST when it is no address of this machine', async () => {
    const result = await runOnRedis(main, { HOST: 'no-such-host.invalid' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `${name}: cannot start: HOST=no-such-host\\.invalid is not an address of this machine ` +
          '\\((ENOTFOUND|EAI_AGAIN)\\): use one of its addresses, or 0\\.0\\.0\\.0 for every interface\\n',
      ),
    );
  });

  it('stops with one clear line naming the variable when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as { port: number }).port);
    try {
      const result = await runOnRedis(main, {
        HOST: '127.0.0.1',
        KILLSWITCH_PORT: port,
        RELAY_PORT: port,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `${name}: cannot start: ${name === 'killswitch' ? 'KILLSWITCH_PORT' : 'RELAY_PORT'}=` +
          `${port} is in use on HOST=127.0.0.1: choose another port\n`,
      );
    } finally {
      taken.close();
    }
  });
});
