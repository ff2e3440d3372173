import { Logger } from '@nestjs/common';
import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { ActionsQueue } from '@app/actions';
import type { RedisService } from '@app/redis';
import { RevocationQueue } from '@app/revocation';
import { redisForSpec } from '../../../../test/support/int';
import { FailedJobsSweep, settleFailedJobs } from './jobs';

type Data = { n: number };

/**
 * A queue named `name` and a worker on it that fails every job for good at once, as one that
 * stalled too often does (jobs 900 to 999 with a plain error instead, retried while they have
 * attempts left); `close()` closes them and their connections.
 */
function failingQueue(redis: RedisService, name: string) {
  const opened: Redis[] = [];
  const connection = (role: 'producer' | 'worker') => {
    const c = redis.duplicate(role, `${name}-spec`);
    opened.push(c);
    return c;
  };
  const prefix = redis.keys.bullPrefix();
  const queue = new Queue<Data>(name, { connection: connection('producer'), prefix });
  // The spec waits on many jobs at once, and each job.waitUntilFinished adds a 'closing'
  // listener to the queue until its job ends: more than Node's default warning limit of 10.
  queue.setMaxListeners(0);
  const worker = new Worker<Data>(
    name,
    (job) =>
      Promise.reject(
        job.data.n >= 900 && job.data.n < 1000
          ? new Error(`job ${job.data.n} failed, try ${job.attemptsMade + 1}`)
          : new UnrecoverableError(`job ${job.data.n} failed`),
      ),
    { connection: connection('worker'), prefix },
  );
  const events = new QueueEvents(name, { connection: connection('worker'), prefix });
  return {
    queue,
    worker,
    events,
    ready: () => Promise.all([worker.waitUntilReady(), events.waitUntilReady()]),
    close: async () => {
      await worker.close();
      await events.close();
      await queue.close();
      opened.forEach((c) => c.disconnect());
    },
  };
}

// The sweep of failed jobs against a real BullMQ queue: it settles each job that failed for
// good, oldest first, after the failed handler's time, and takes it off the failed list, which
// so holds exactly the jobs still to settle.
describe('the sweep of failed jobs (real Redis, real BullMQ)', () => {
  const { redis } = redisForSpec('failed-jobs');
  let spec: ReturnType<typeof failingQueue>;
  let queue: Queue<Data>;
  let events: QueueEvents;
  const running = new AbortController().signal;

  beforeAll(async () => {
    spec = failingQueue(redis, 'spec');
    ({ queue, events } = spec);
    await spec.ready();
  });

  afterAll(() => spec.close());

  /** Adds jobs and waits until each failed; answers them as stored. */
  const failed = async (...ns: number[]): Promise<Job<Data>[]> => {
    const jobs = await queue.addBulk(ns.map((n) => ({ name: 't', data: { n } })));
    await Promise.all(jobs.map((job) => job.waitUntilFinished(events).catch(() => undefined)));
    return Promise.all(jobs.map(async (job) => (await queue.getJob(job.id ?? ''))!));
  };
  const failedList = async () =>
    (await queue.getJobs(['failed'])).map((job) => job.data.n).sort((a, b) => a - b);
  /** A sweep that records what it settled, failing for the numbers in `failing`. */
  const sweepOf = (failing = new Set<number>()) => {
    const settled: string[] = [];
    const errors: number[] = [];
    const sweep = new FailedJobsSweep<Data>(
      queue,
      (job, reason) =>
        failing.has(job.data.n)
          ? Promise.reject(new Error('Redis is down'))
          : Promise.resolve(void settled.push(`${job.data.n}: ${reason}`)),
      (job) => errors.push(job.data.n),
    );
    return { sweep, settled, errors };
  };
  const minuteAfter = (jobs: Job<Data>[]) =>
    Math.max(...jobs.map((j) => j.finishedOn ?? 0)) + 60_000;

  it('settles each failed job once, oldest first, once the handler had its minute', async () => {
    const jobs = await failed(1, 2, 3);
    const { sweep, settled } = sweepOf();
    // The handler settled the second one where it failed: off the list.
    await sweep.settled(jobs[1]);
    expect(await failedList()).toEqual([1, 3]);
    // Within the handler's minute: left to it.
    expect(await sweep.run(running, Date.now())).toBe(0);
    expect(settled).toEqual([]);
    expect(await sweep.run(running, minuteAfter(jobs))).toBe(2);
    expect(settled).toEqual(['1: job 1 failed', '3: job 3 failed']);
    expect(await failedList()).toEqual([]);
    // Nothing twice, however late the next run (or how far its clock is ahead).
    expect(await sweep.run(running, minuteAfter(jobs) + 3_600_000)).toBe(0);
  });

  it('leaves a job whose settling fails for the next run, without holding up the others', async () => {
    const jobs = await failed(4, 5, 6);
    const failing = new Set([4]);
    const { sweep, settled, errors } = sweepOf(failing);
    expect(await sweep.run(running, minuteAfter(jobs))).toBe(2);
    expect(errors).toEqual([4]);
    expect(settled).toEqual(['5: job 5 failed', '6: job 6 failed']);
    expect(await failedList()).toEqual([4]);
    failing.clear();
    expect(await sweep.run(running, minuteAfter(jobs))).toBe(1);
    expect(settled).toContain('4: job 4 failed');
    expect(await failedList()).toEqual([]);
  });

  it('stops at shutdown, leaving what it did not reach on the list', async () => {
    const jobs = await failed(7);
    const closing = new AbortController();
    closing.abort();
    const { sweep, settled } = sweepOf();
    expect(await sweep.run(closing.signal, minuteAfter(jobs))).toBe(0);
    expect(settled).toEqual([]);
    expect(await failedList()).toEqual([7]);
    expect(await sweep.run(running, minuteAfter(jobs))).toBe(1);
  });

  it('keeps going past jobs it cannot settle, over more than one page', async () => {
    const ns = Array.from({ length: 150 }, (_, i) => 2000 + i);
    const jobs = await failed(...ns);
    // Every tenth one fails to settle, on the first page and the second.
    const failing = new Set(ns.filter((n) => n % 10 === 0));
    const first = sweepOf(failing);
    expect(await first.sweep.run(running, minuteAfter(jobs))).toBe(135);
    expect(first.errors).toEqual([...failing]);
    expect(await failedList()).toEqual([...failing]);
    failing.clear();
    expect(await first.sweep.run(running, minuteAfter(jobs))).toBe(15);
    expect(await failedList()).toEqual([]);
  });

  it('pages through more failed jobs than one page holds, with two sweeps at once', async () => {
    const ns = Array.from({ length: 250 }, (_, i) => 1000 + i);
    const jobs = await failed(...ns);
    const [a, b] = [sweepOf(), sweepOf()];
    const now = minuteAfter(jobs);
    await Promise.all([a.sweep.run(running, now), b.sweep.run(running, now)]);
    // Each one settled by one sweep or both (settling is safe to repeat), none missed.
    expect(new Set([...a.settled, ...b.settled]).size).toBe(250);
    expect(await failedList()).toEqual([]);
  });
});

// The same, wired to a worker: a job that fails for good is settled where it failed, tried
// again while that fails, and taken off the failed list once settled.
describe('settling failed jobs where they fail (real Redis, real BullMQ)', () => {
  const { config, redis } = redisForSpec('failed-jobs-worker');
  let spec: ReturnType<typeof failingQueue>;
  let queue: Queue<Data>;
  const closing = new AbortController();
  let stop: (withinMs: number) => Promise<void>;
  /** Settling fails this many more times before it succeeds. */
  let failures = 0;
  const calls: string[] = [];

  beforeAll(async () => {
    spec = failingQueue(redis, 'wired');
    queue = spec.queue;
    ({ stop } = settleFailedJobs({
      worker: spec.worker,
      queue,
      settle: (job, reason) => {
        calls.push(`${job.data.n}: ${reason}`);
        return failures-- > 0 ? Promise.reject(new Error('Redis is down')) : Promise.resolve();
      },
      signal: closing.signal,
      logger: new Logger('spec'),
      what: 'spec job',
    }));
    await spec.ready();
  });

  afterAll(async () => {
    closing.abort();
    await stop(5000);
    await spec.close();
  });

  const failedIds = async () => (await queue.getJobs(['failed'])).map((job) => job.id);
  const until = async (check: () => Promise<boolean>, what: string) => {
    for (let waited = 0; waited < 100; waited++) {
      if (await check()) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it('settles a job where it failed, trying again while that fails, then takes it off the list', async () => {
    failures = 1;
    const job = await queue.add('t', { n: 1 });
    await until(() => Promise.resolve(calls.length === 2), 'the second try');
    expect(calls).toEqual(['1: job 1 failed', '1: job 1 failed']);
    await until(async () => !(await failedIds()).includes(job.id), 'the job off the list');
  });

  it('settles a job with attempts left only once its last attempt failed', async () => {
    failures = 0;
    calls.length = 0;
    const job = await queue.add('t', { n: 901 }, { attempts: 2 });
    await until(async () => !(await failedIds()).includes(job.id) && calls.length > 0, 'settled');
    expect(calls).toEqual(['901: job 901 failed, try 2']);
  });

  it('keeps failed jobs in both queues of the service until they are settled', async () => {
    const queues = [new ActionsQueue(redis, config), new RevocationQueue(redis, config)];
    try {
      for (const { queue: q } of queues) {
        await q.waitUntilReady();
        expect(q.defaultJobOptions.removeOnFail).toBe(false);
      }
    } finally {
      await Promise.all(queues.map((q) => q.onApplicationShutdown()));
    }
  });

  it('stops trying at shutdown, leaving the job on the list for the sweep', async () => {
    failures = 10;
    calls.length = 0;
    const job = await queue.add('t', { n: 2 });
    await until(() => Promise.resolve(calls.length === 1), 'the first try');
    closing.abort();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Had it waited out its second, it would have tried again.
    expect(calls).toEqual(['2: job 2 failed']);
    expect(await failedIds()).toContain(job.id);
  });
});
