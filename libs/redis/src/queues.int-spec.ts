import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { redisForSpec } from '../../../test/support/int';
import { closeConnection } from './connection';
import { addJobs } from './queues';

type Data = { n: number };

describe('addJobs (real BullMQ)', () => {
  const { redis } = redisForSpec('queues');
  let connection: Redis;
  let queue: Queue<Data>;

  beforeAll(() => {
    connection = redis.duplicate('producer', 'add-jobs-spec');
    queue = new Queue<Data>('add-jobs', { connection, prefix: redis.keys.bullPrefix() });
  });

  afterAll(async () => {
    await queue.close();
    await closeConnection(connection);
  });

  beforeEach(() => queue.obliterate({ force: true }));

  const jobs = (count: number, from = 0) =>
    Array.from({ length: count }, (_, i) => ({
      name: 'spec',
      data: { n: from + i },
      opts: { jobId: `job-${from + i}`, delay: 60_000 },
    }));

  it('adds one job with its id, data and options', async () => {
    await addJobs(queue, jobs(1, 7));
    const job = await queue.getJob('job-7');
    expect(job?.data).toEqual({ n: 7 });
    expect(job?.name).toBe('spec');
    expect(job?.opts.delay).toBe(60_000);
    expect(await queue.getDelayedCount()).toBe(1);
  });

  it('adds thousands, in chunks, each once', async () => {
    await addJobs(queue, jobs(2500));
    await addJobs(queue, jobs(10, 2495));
    expect(await queue.getDelayedCount()).toBe(2505);
    expect((await queue.getJob('job-2499'))?.data).toEqual({ n: 2499 });
  });

  it('adds a job whose id is taken once, alone or with others', async () => {
    const [first] = jobs(1, 3);
    await addJobs(queue, [first]);
    await addJobs(queue, [{ ...first, data: { n: 99 } }]);
    await addJobs(queue, [{ ...first, data: { n: 98 } }, ...jobs(1, 4)]);
    expect(await queue.getDelayedCount()).toBe(2);
    expect((await queue.getJob('job-3'))?.data).toEqual({ n: 3 });
  });

  it('adds nothing for no jobs', async () => {
    await addJobs(queue, []);
    expect(await queue.count()).toBe(0);
  });
});
