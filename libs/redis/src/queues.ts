import type { Queue } from 'bullmq';

/** Jobs {@link addJobs} sends to Redis in one round trip. */
const BULK_CHUNK = 1000;

/**
 * Adds jobs to a BullMQ queue. A single job goes through `add`: `addBulk` builds a pipeline, and
 * ioredis copies every BullMQ script onto each new pipeline, which was a third of a gate job's
 * CPU (bench/actions) and the largest part of queueing a single stop's follow-up. More jobs go
 * through `addBulk`, a thousand per round trip.
 *
 * @param queue - the queue; the jobs' names and data are typed by it.
 * @param jobs - as `addBulk` takes them; none adds nothing.
 */
export async function addJobs<Q extends Queue>(
  queue: Q,
  jobs: Parameters<Q['addBulk']>[0],
): Promise<void> {
  if (jobs.length === 1) {
    const [{ name, data, opts }] = jobs;
    await queue.add(name, data, opts);
    return;
  }
  for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
    await queue.addBulk(jobs.slice(i, i + BULK_CHUNK));
  }
}
