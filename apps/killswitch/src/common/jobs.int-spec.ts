import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { RedisService } from '@app/redis';
import { redisForSpec } from '../../../../test/support/int';
import { FailedJobsSweep } from './jobs';

// The sweep of failed jobs against a real BullMQ queue: it hands over each job that failed for
// good once, oldest first, after the failed handler's time, and leaves those settled already.
describe('the sweep of failed jobs (real Redis, real BullMQ)', () => {
  const { redis } = redisForSpec('failed-jobs');
  let queue: Queue<{ n: number }>;
  let worker: Worker<{ n: number }>;
  let events: QueueEvents;
  const connections: ReturnType<RedisService['duplicate']>[] = [];

  beforeAll(async () => {
    const connection = (role: Parameters<RedisService['duplicate']>[0]) => {
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

  /** Adds a job and waits until it failed; answers it as stored. */
  const failed = async (n: number): Promise<Job<{ n: number }>> => {
    const job = await queue.add('t', { n });
    await job.waitUntilFinished(events).catch(() => undefined);
    return (await queue.getJob(job.id ?? ''))!;
  };

  it('hands over each failed job once, oldest first, once the handler had its time', async () => {
    const start = Date.now();
    const settled: string[] = [];
    let failNext = false;
    const sweep = new FailedJobsSweep(
      queue,
      (job) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('Redis is down'));
        }
        settled.push(`${job.data.n}: ${job.failedReason}`);
        return Promise.resolve();
      },
      start,
    );
    await failed(1);
    const [two, three] = [await failed(2), await failed(3)];
    // The handler of this process settled the second.
    sweep.settledHere(two);
    // Within the handler's minute: nothing yet.
    expect(await sweep.run(Date.now())).toBe(0);
    expect(settled).toEqual([]);

    const later = (three.finishedOn ?? 0) + 60_000;
    // A settle that fails leaves it, and what came after, to the next run.
    failNext = true;
    await expect(sweep.run(later)).rejects.toThrow('Redis is down');
    expect(settled).toEqual([]);
    expect(await sweep.run(later)).toBe(2);
    expect(settled).toEqual(['1: job 1 failed', '3: job 3 failed']);
    // Nothing twice.
    expect(await sweep.run(later)).toBe(0);
    const four = await failed(4);
    expect(await sweep.run((four.finishedOn ?? 0) + 60_000)).toBe(1);
    expect(settled).toEqual(['1: job 1 failed', '3: job 3 failed', '4: job 4 failed']);
  });

  it('looks ten minutes back when its process starts, not further', async () => {
    const job = await failed(5);
    const at = job.finishedOn ?? 0;
    const seen: number[] = [];
    const settle = (j: Job<{ n: number }>) => {
      seen.push(j.data.n);
      return Promise.resolve();
    };
    // Started nine minutes after the failure: settles it.
    await new FailedJobsSweep(queue, settle, at + 9 * 60_000).run(at + 9 * 60_000);
    expect(seen).toContain(5);
    // Started eleven minutes after: does not.
    seen.length = 0;
    await new FailedJobsSweep(queue, settle, at + 11 * 60_000).run(at + 11 * 60_000);
    expect(seen).not.toContain(5);
  });

  it('pages through more failed jobs than one page holds', async () => {
    const start = Date.now();
    await queue.addBulk(
      Array.from({ length: 150 }, (_, i) => ({ name: 't', data: { n: 100 + i } })),
    );
    for (let waited = 0; waited < 100; waited++) {
      const counts = await queue.getJobCounts('failed');
      if (counts.failed >= 150 + 5) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [last] = await queue.getJobs(['failed'], 0, 0, false);
    const seen: number[] = [];
    const count = await new FailedJobsSweep(
      queue,
      (job) => {
        seen.push(job.data.n);
        return Promise.resolve();
      },
      start + 10 * 60_000,
    ).run((last?.finishedOn ?? 0) + 60_000);
    expect(count).toBe(150);
    expect(new Set(seen).size).toBe(150);
  });
});
