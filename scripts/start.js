#!/usr/bin/env node
// `npm start`: both apps, and a local Redis when none answers at the default address.
// Plain JavaScript so that it runs before anything is built.
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { redisAnswers, waitUntilAnswers } = require('./redis-probe');

const root = join(__dirname, '..');
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
const children = [];
let stopping = false;

function log(line) {
  process.stdout.write(`[start] ${line}\n`);
}

function startChild(name, command, args, options = {}) {
  const child = spawn(command, args, { stdio: 'inherit', env: process.env, ...options });
  children.push({ name, child });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal || code}); stopping the others`);
      stop(code || 1);
    }
  });
  return child;
}

const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', r));

// Apps first, Redis last: the apps close their queues and connections against a live Redis.
function stop(code) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), 15_000).unref();
  const apps = children.filter(({ name }) => name !== 'redis-server');
  const redis = children.filter(({ name }) => name === 'redis-server');
  for (const { child } of apps) if (child.exitCode === null) child.kill('SIGTERM');
  Promise.all(apps.map(({ child }) => exited(child)))
    .then(() => {
      for (const { child } of redis) if (child.exitCode === null) child.kill('SIGTERM');
      return Promise.all(redis.map(({ child }) => exited(child)));
    })
    .then(() => process.exit(code));
}

// The apps' own validation (built by `prestart`): a bad value, REDIS_URL included, is reported
// as the apps report it, before this script names a Redis to use or starts one.
function checkConfig() {
  const built = join(root, 'dist/libs/config/src/config.js');
  if (!existsSync(built)) return; // not built: the apps say so themselves
  try {
    require(built).loadConfig(process.env);
  } catch (error) {
    fail(`cannot start: ${error.message}`);
  }
}

async function ensureRedis() {
  if (await redisAnswers(redisUrl)) {
    log(`using Redis at ${redisUrl.replace(/:[^:@/]*@/, ':***@')}`);
    return;
  }
  if (process.env.REDIS_URL && process.env.REDIS_URL !== DEFAULT_REDIS_URL) {
    fail(
      `Redis at ${process.env.REDIS_URL} does not answer. Start it, or unset REDIS_URL to use a local one.`,
    );
  }
  const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!hasRedis) {
    fail(
      'No Redis answers at redis://127.0.0.1:6379 and redis-server is not installed.\n' +
        '        Install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)\n' +
        '        or point REDIS_URL at a running Redis.',
    );
  }
  const dataDir = join(root, '.data');
  mkdirSync(dataDir, { recursive: true });
  log(
    `no Redis answered at ${DEFAULT_REDIS_URL}: starting a local one with its data in .data/ (append-only file on)`,
  );
  startChild(
    'redis-server',
    'redis-server',
    [
      '--port',
      '6379',
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--save',
      '',
      // Its own process group: Ctrl-C reaches the apps, and Redis is stopped after them.
    ],
    { detached: true },
  );
  if (!(await waitUntilAnswers(DEFAULT_REDIS_URL, 10_000))) {
    fail('the local redis-server did not answer within 10 s; see its output above.');
  }
}

function fail(message) {
  process.stderr.write(`[start] ${message}\n`);
  stop(1);
  setImmediate(() => process.exit(1));
  throw new Error('stopped');
}

async function main() {
  checkConfig();
  await ensureRedis();
  startChild('killswitch', process.execPath, [join(root, 'dist/apps/killswitch/src/main.js')]);
  startChild('mobile-relay', process.execPath, [join(root, 'dist/apps/mobile-relay/src/main.js')]);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      log(`${signal}: stopping`);
      stop(0);
    });
  }
}

main().catch((error) => {
  if (error.message !== 'stopped') {
    process.stderr.write(`[start] ${error.stack || error}\n`);
    process.exit(1);
  }
});
