import type { Job } from 'bullmq';
import { isLastFailure, lastFailureReason, MAX_STALLS } from './jobs';

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
    expect(lastFailureReason(stalledTooOften(), MAX_STALLS)).toBe(
      'its worker stopped (the process died, or hung past its lock) 6 times while running it',
    );
    expect(lastFailureReason(new Error('Redis is down'), MAX_STALLS)).toBe('Redis is down');
  });
});
