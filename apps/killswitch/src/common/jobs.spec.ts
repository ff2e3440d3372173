import type { Job } from 'bullmq';
import { FOLLOWUP_MAX_STALLS, isLastFailure, lastFailureReason, retried } from './jobs';

const job = (attemptsMade: number, attempts = 10) => ({ attemptsMade, opts: { attempts } }) as Job;

/** What BullMQ throws for a job that stalled more than its limit (an UnrecoverableError). */
function stalledTooOften(): Error {
  const error = new Error('job stalled more than allowable limit');
  error.name = 'UnrecoverableError';
  return error;
}

describe('failed jobs', () => {
  it('takes a failure with attempts left for one that will retry', () => {
    expect(isLastFailure(job(3), new Error('ECONNREFUSED'))).toBe(false);
  });

  it('takes the last attempt, or a job that stalled too often with attempts left, for the last', () => {
    expect(isLastFailure(job(10), new Error('ECONNREFUSED'))).toBe(true);
    expect(isLastFailure(job(1), stalledTooOften())).toBe(true);
  });

  it('says in words why a job that stalled too often gave up', () => {
    expect(lastFailureReason(stalledTooOften().message, FOLLOWUP_MAX_STALLS)).toBe(
      'its worker stopped (the process died, or hung past its lock) 6 times while running it',
    );
    expect(lastFailureReason('Redis is down', FOLLOWUP_MAX_STALLS)).toBe('Redis is down');
  });
});

describe('retried', () => {
  const failing = (calls: number[]) => () => {
    calls.push(calls.length + 1);
    return Promise.reject(new Error(`try ${calls.length} failed`));
  };

  it('answers what the first try that succeeds answers', async () => {
    let tries = 0;
    const work = () => (++tries < 2 ? Promise.reject(new Error('no')) : Promise.resolve('yes'));
    await expect(retried(work, new AbortController().signal, 3)).resolves.toBe('yes');
    expect(tries).toBe(2);
  });

  it('gives up with the last error after its tries, or at once when aborted', async () => {
    const calls: number[] = [];
    await expect(retried(failing(calls), new AbortController().signal, 1)).rejects.toThrow(
      'try 1 failed',
    );
    const aborted = new AbortController();
    aborted.abort();
    await expect(retried(failing(calls), aborted.signal, 5)).rejects.toThrow('try 2 failed');
    expect(calls).toEqual([1, 2]);
  });
});
