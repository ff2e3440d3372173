// Runs once before the whole suite: make sure a Redis answers, so that `npm test` works on a
// machine where nothing is running yet. A throwaway redis-server (no persistence) on a free
// port is started when none answers at TEST_REDIS_URL (default redis://127.0.0.1:6379).
const { spawn, spawnSync } = require('node:child_process');
const { createServer } = require('node:net');
const { redisAnswers, waitUntilAnswers } = require('../scripts/redis-probe');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

module.exports = async function globalSetup() {
  const url = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  if (await redisAnswers(url)) {
    process.env.TEST_REDIS_URL = url;
    return;
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      `No Redis answers at ${url} and redis-server is not installed: install Redis 7 ` +
        '(apt-get install redis-server, brew install redis) or set TEST_REDIS_URL.',
    );
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  // Not left running if the suite is interrupted before the teardown.
  process.on('exit', () => child.kill());
  const own = `redis://127.0.0.1:${port}`;
  if (!(await waitUntilAnswers(own, 5000))) {
    child.kill();
    throw new Error(`Started redis-server on port ${port}, but it did not answer within 5 s`);
  }
  process.stdout.write(`\n[test] no Redis at ${url}: started a throwaway one at ${own}\n`);
  process.env.TEST_REDIS_URL = own;
  globalThis.__testRedis = child;
};
