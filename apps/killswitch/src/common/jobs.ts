import type { Job } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How many times a revocation follow-up may lose its worker (the process died, or hung past its
 * lock) and still run again. BullMQ's default of 1 fails a job for good on its second stall:
 * two restarts in a row during a rolling deploy. Every follow-up step is safe to run again.
 * Action jobs keep the default: a re-run runs the action again.
 */
export const FOLLOWUP_MAX_STALLS = 5;

/** Action jobs: BullMQ's default. A job re-run after a stall runs its action again. */
export const ACTION_MAX_STALLS = 1;

/**
 * Whether a `failed` event is the job's last: its attempts used up, or failed without a retry.
 * A job that stalled more than its worker's `maxStalledCount` is failed with an `UnrecoverableError`
 * ("job stalled more than allowable limit") while `attemptsMade` still reads low, so the count
 * alone would take it for one that retries.
 */
export function isLastFailure(job: Job, error: Error): boolean {
  return error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/** What a job's last failure says to a person reading the ledger or an incident. */
export function lastFailureReason(error: Error, maxStalls: number): string {
  return error.message === 'job stalled more than allowable limit'
    ? `its worker stopped (the process died, or hung past its lock) ${maxStalls + 1} times ` +
        'while running it'
    : error.message;
}

/** Tries {@link retried} makes by default: 1 + 2 + 4 + 8 + 16 s apart, about half a minute. */
const AFTER_JOB_ATTEMPTS = 6;

/**
 * Runs `work` until it succeeds, up to `attempts` times, waiting 1, 2, 4… s between tries, and
 * no longer once `signal` aborts (shutdown). For what follows a job that is over (reporting or
 * settling it): nothing else would try again, and the failure was often Redis itself.
 */
export async function retried<T>(
  work: () => Promise<T>,
  signal: AbortSignal,
  attempts = AFTER_JOB_ATTEMPTS,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || signal.aborted) {
        throw error;
      }
      await sleep(1000 * 2 ** (attempt - 1), undefined, { signal }).catch(() => {
        throw error;
      });
    }
  }
}
