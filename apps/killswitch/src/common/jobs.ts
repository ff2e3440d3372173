import type { Job, Queue } from 'bullmq';
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

/**
 * What a job's last failure (its error's message, or a failed job's `failedReason`) says to a
 * person reading the ledger or an incident.
 */
export function lastFailureReason(message: string, maxStalls: number): string {
  return message === 'job stalled more than allowable limit'
    ? `its worker stopped (the process died, or hung past its lock) ${maxStalls + 1} times ` +
        'while running it'
    : message;
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

/** How often each workers process looks for failed jobs nobody followed up. */
export const FAILED_SWEEP_EVERY_MS = 30_000;
/** How far back a process just started looks for failed jobs nobody followed up. */
const LOOK_BACK_MS = 10 * 60_000;
/** Left to the `failed` handler of the process where a job failed: its {@link retried} tries. */
const GRACE_MS = 60_000;
/** Failed jobs read per page, newest first. */
const PAGE = 100;

/**
 * Follows up jobs of `queue` that failed for good where their `failed` handler could not: the
 * process died right after the failure, or Redis was away through all of {@link retried}'s
 * tries. Each run hands `settle` the jobs that failed since the last run (and more than a
 * minute ago, the handler's time), oldest first; a process just started looks ten minutes back.
 * `settle` must be safe to run twice for a job: another process, or the handler, may have
 * settled it too. Jobs this process's handler settled ({@link settledHere}) are skipped.
 */
export class FailedJobsSweep<T> {
  private seenUntil: number;
  /** Settled by this process's handler: job id, and when it failed. */
  private readonly settled = new Map<string, number>();

  constructor(
    private readonly queue: Queue<T>,
    private readonly settle: (job: Job<T>) => Promise<void>,
    now = Date.now(),
  ) {
    this.seenUntil = now - LOOK_BACK_MS;
  }

  /** The `failed` handler of this process followed this job up: the sweep leaves it. */
  settledHere(job: Job<T>): void {
    if (job.id !== undefined) {
      this.settled.set(job.id, job.finishedOn ?? Date.now());
    }
  }

  /** Settles what failed in the window; answers how many it settled. */
  async run(now = Date.now()): Promise<number> {
    const until = now - GRACE_MS;
    const due: Job<T>[] = [];
    for (let start = 0; ; start += PAGE) {
      // Jobs removed while being read come back undefined.
      const page = (
        (await this.queue.getJobs(['failed'], start, start + PAGE - 1, false)) as (
          Job<T> | undefined
        )[]
      ).filter((job): job is Job<T> => job !== undefined);
      due.push(...page.filter((job) => this.inWindow(job, until)));
      if (page.length < PAGE || page.some((job) => (job.finishedOn ?? 0) <= this.seenUntil)) {
        break;
      }
    }
    due.sort((a, b) => (a.finishedOn ?? 0) - (b.finishedOn ?? 0));
    let count = 0;
    for (const job of due) {
      const at = job.finishedOn ?? 0;
      if (job.id === undefined || !this.settled.has(job.id)) {
        try {
          await this.settle(job);
        } catch (error) {
          // This job, and any that failed in the same millisecond, wait for the next run.
          this.seenUntil = at - 1;
          throw error;
        }
        count++;
      }
      this.seenUntil = at;
    }
    this.seenUntil = until;
    for (const [id, at] of this.settled) {
      if (at <= until) {
        this.settled.delete(id);
      }
    }
    return count;
  }

  private inWindow(job: Job<T>, until: number): boolean {
    const at = job.finishedOn ?? 0;
    return at > this.seenUntil && at <= until;
  }
}
