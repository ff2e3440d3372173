/**
 * The actions benchmark's baseline: a plain BullMQ worker, nothing else. Same BullMQ, same
 * connection factory (`@app/redis`, role `worker`, no auto-pipelining), same concurrency
 * (ACTION_WORKER_CONCURRENCY) as killswitch's action worker, and a processor that does nothing,
 * as the gate's no-op executor does. Whatever the gate spends beyond this per job is its own
 * cost. Started by the benchmark as `node dist/bench/actions/plain-worker.js` with REDIS_URL,
 * KEY_PREFIX, ACTION_WORKER_CONCURRENCY and KILLSWITCH_PORT; a status endpoint on that port
 * says how many jobs it ran, and its "listening" line tells the harness its worker is ready.
 */
import { createServer } from 'node:http';
import { Worker } from 'bullmq';
import { loadConfig } from '@app/config';
import { closeConnection, connectOrExplain, createRedisConnection, Keys } from '@app/redis';
import { PLAIN_QUEUE } from './shared';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const connection = createRedisConnection(
    config.redisUrl,
    'worker',
    `${config.keyPrefix}:plain-worker`,
  );
  await connectOrExplain(connection, config.redisUrl);
  let processed = 0;
  const worker = new Worker(
    PLAIN_QUEUE,
    () => {
      processed++;
      return Promise.resolve();
    },
    {
      connection,
      prefix: new Keys(config.keyPrefix).bullPrefix(),
      concurrency: config.actionWorkerConcurrency,
    },
  );
  worker.on('error', (error) => process.stderr.write(`plain-worker: ${error.message}\n`));
  await worker.waitUntilReady();

  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ processed }));
  });
  await new Promise<void>((resolve) => server.listen(config.killswitchPort, '127.0.0.1', resolve));
  process.stdout.write(`plain-worker listening on http://127.0.0.1:${config.killswitchPort}\n`);

  const stop = () => {
    const forced = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    forced.unref();
    void worker
      .close()
      .then(() => closeConnection(connection))
      .finally(() => server.close(() => process.exit(0)));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `plain-worker: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
