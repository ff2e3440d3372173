import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './support/redis';

const root = join(__dirname, '..');
const mains = {
  killswitch: join(root, 'dist/apps/killswitch/src/main.js'),
  'mobile-relay': join(root, 'dist/apps/mobile-relay/src/main.js'),
};

/** Runs a built app as `npm start` would and collects how it ended. */
function run(main: string, env: Record<string, string>, timeoutMs = 15_000) {
  return new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${main} did not stop within ${timeoutMs} ms: ${stdout} ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe.each(Object.entries(mains))('%s start-up', (name, main) => {
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
});
