import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { redisForSpec } from '../../../../test/support/int';
import { Logger } from '@nestjs/common';
import { FailedJobsSweep, settleFailedJobs } from './jobs';

type Data = { n: number };

// The sweep of failed jobs against a real BullMQ queue: it settles each job that failed for
// good, oldest first, after the failed handler's time, and takes it off the failed list, which
// so holds exactly the jobs still to settle.
describe('the sweep of failed jobs (real Redis, real BullMQ)', () => {
  const { redis } = redisForSpec('failed-jobs');
  let queue: Queue<Data>;
  let worker: Worker<Data>;
  let events: QueueEvents;
  const connections: Redis[] = [];
  const running = new AbortController().signal;

  beforeAll(async () => {
    const connection = (role: 'producer' | 'worker') => {
      const c = redis.duplicate(role, 'failed-jobs-spec');
      connections.push(c);
      return c;
    };
    const prefix = redis.keys.bullPrefix();
    queue = new Queue('spec', { connection: connection('producer'), prefix });
    events = new QueueEvents('spec', { connection: connection('worker'), prefix });
    // Every job fails for good at once, as one that stalled too often does.
    worker = new Worker(
      'spec',
      (job) => Promise.reject(new UnrecoverableError(`job ${job.data.n} failed`)),
      { connection: connection('worker'), prefix },
    );
    await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);
  });

  afterAll(async () => {
    await worker.close();
    await events.close();
    await queue.close();
    connections.forEach((c) => c.disconnect());
  });

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
  const { redis } = redisForSpec('failed-jobs-worker');
  let queue: Queue<Data>;
  let worker: Worker<Data>;
  const connections: Redis[] = [];
  const closing = new AbortController();
  let stop: () => Promise<void>;
  /** Settling fails this many more times before it succeeds. */
  let failures = 0;
  const calls: string[] = [];

  beforeAll(async () => {
    const connection = (role: 'producer' | 'worker') => {
      const c = redis.duplicate(role, 'failed-jobs-worker-spec');
      connections.push(c);
      return c;
    };
    const prefix = redis.keys.bullPrefix();
    queue = new Queue('wired', { connection: connection('producer'), prefix });
    worker = new Worker(
      'wired',
      (job) => Promise.reject(new UnrecoverableError(`job ${job.data.n} failed`)),
      { connection: connection('worker'), prefix },
    );
    ({ stop } = settleFailedJobs({
      worker,
      queue,
      settle: (job, reason) => {
        calls.push(`${job.data.n}: ${reason}`);
        return failures-- > 0 ? Promise.reject(new Error('Redis is down')) : Promise.resolve();
      },
      signal: closing.signal,
      logger: new Logger('spec'),
      what: 'spec job',
    }));
    await worker.waitUntilReady();
  });

  afterAll(async () => {
    closing.abort();
    await stop();
    await worker.close();
    await queue.close();
    connections.forEach((c) => c.disconnect());
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
