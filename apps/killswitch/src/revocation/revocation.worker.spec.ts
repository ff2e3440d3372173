import type { Job } from 'bullmq';
import type { AppConfig } from '@app/config';
import type { HealthRegistry } from '@app/health';
import type { RedisService } from '@app/redis';
import type { FollowupService, RevocationJob, RevocationQueue } from '@app/revocation';
import { RevocationWorker } from './revocation.worker';

/** A worker over a fake follow-up whose gaveUp fails `failures` times first. */
function workerWith(failures: number) {
  const calls: string[] = [];
  const followup = {
    gaveUp: (_job: RevocationJob, why: string) => {
      calls.push(why);
      return calls.length <= failures
        ? Promise.reject(new Error('Redis is down'))
        : Promise.resolve();
    },
  } as unknown as FollowupService;
  const worker = new RevocationWorker(
    {} as RedisService,
    { workers: false } as AppConfig,
    followup,
    {} as RevocationQueue,
    { register: () => undefined } as unknown as HealthRegistry,
  );
  const job = { data: { kind: 'incident', incidentId: 'inc_0000000000000001' } } as Job;
  const report = () =>
    (worker as unknown as { followFailure(j: Job, why: string): Promise<void> }).followFailure(
      job,
      'its worker stopped',
    );
  return { worker, calls, report };
}

describe('reporting a follow-up that failed for good', () => {
  it('tries again when the report itself fails (its job is over: nothing else would)', async () => {
    const { calls, report } = workerWith(1);
    await report();
    expect(calls).toEqual(['its worker stopped', 'its worker stopped']);
  });

  it('stops waiting to try again when the process shuts down', async () => {
    const { worker, calls, report } = workerWith(10);
    const reporting = report();
    await worker.onApplicationShutdown();
    await expect(reporting).rejects.toThrow('Redis is down');
    // Had it waited out its second, it would have tried again.
    expect(calls).toHaveLength(1);
  });
});
