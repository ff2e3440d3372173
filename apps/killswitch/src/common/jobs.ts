import type { Logger } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import type { Job, Queue, Worker } from 'bullmq';
import { runEvery, settleWithin } from '@app/core';
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
 * Ends a job's run as a hand-over, not a failure: back to the queue at once, to run again as
 * the same attempt, using up none of its retries (a rolling deploy may restart every worker in
 * turn, and a lost lock is no fault of the job). Call it from the processor and let what it
 * throws out. If the job cannot be moved (Redis away, its lock lost already), it is taken up
 * again as stalled.
 */
export async function handOver(job: Job, token: string | undefined): Promise<never> {
  await job.moveToDelayed(Date.now(), token).catch(() => undefined);
  throw new DelayedError();
}

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
const FAILED_SWEEP_EVERY_MS = 30_000;
/** Left to the `failed` handler of the process where a job failed: its {@link retried} tries. */
const GRACE_MS = 60_000;
/** A failed job not settled this long after it failed is logged as an error, not a warning. */
const STUCK_AFTER_MINUTES = 10;
/** Failed jobs read per page, oldest first. */
const PAGE = 100;

/**
 * Settles jobs of `queue` that failed for good, wherever their `failed` handler could not: the
 * process died right after the failure, or Redis was away through all of {@link retried}'s
 * tries. A settled job is removed from BullMQ's failed list (its queue keeps failed jobs until
 * then: `removeOnFail: false`), so the list holds exactly the jobs still to settle, whatever
 * the clocks of the processes or how long every worker was down. Each run settles those that
 * failed over a minute ago (the handler's time), oldest first; one whose settling fails stays
 * for the next run and does not hold up the others. `settle` must be safe to run twice for a
 * job: two processes may settle one at the same time.
 */
export class FailedJobsSweep<T> {
  constructor(
    private readonly queue: Queue<T>,
    /** `reason`: the job's `failedReason`, as its `failed` handler had it in its error. */
    private readonly settle: (job: Job<T>, reason: string) => Promise<void>,
    private readonly onError: (job: Job<T>, error: unknown) => void,
  ) {}

  /** The job is settled: off the failed list. */
  async settled(job: Job<T>): Promise<void> {
    if (job.id !== undefined) {
      await this.queue.remove(job.id);
    }
  }

  /** Settles what failed over a minute ago; answers how many it settled. Stops at `signal`. */
  async run(signal: AbortSignal, now = Date.now()): Promise<number> {
    let settled = 0;
    // Jobs that stay on the list (their settling failed, or another process holds them) are
    // skipped by offset, and none is handled twice in a run.
    let kept = 0;
    const seen = new Set<string | undefined>();
    for (;;) {
      // Ids whose job was removed meanwhile are left out (BullMQ reads on to fill the page).
      const page = await this.queue.getJobs(['failed'], kept, kept + PAGE - 1, true);
      for (const job of page) {
        if (signal.aborted || (job.finishedOn ?? 0) > now - GRACE_MS) {
          return settled;
        }
        if (seen.has(job.id)) {
          kept++;
          continue;
        }
        seen.add(job.id);
        try {
          await this.settle(job, job.failedReason || 'its job failed (no reason recorded)');
          await this.settled(job);
          settled++;
        } catch (error) {
          this.onError(job, error);
          kept++;
        }
      }
      if (page.length < PAGE) {
        return settled;
      }
    }
  }
}

/**
 * What follows a job of `worker` that failed for good: `settle` (with the failure's reason),
 * run where it failed and tried for about half a minute, else by the sweep of `queue`'s failed
 * list that this starts (see {@link FailedJobsSweep}). Waiting to try again stops at `signal`
 * (shutdown); `stop(withinMs)` ends the sweep, waiting at most that long for a settle in
 * progress (the sweep is not worth holding a shutdown up for: the next process sweeps).
 */
export function settleFailedJobs<T>(options: {
  worker: Worker<T>;
  queue: Queue<T>;
  settle: (job: Job<T>, reason: string) => Promise<void>;
  signal: AbortSignal;
  logger: Logger;
  /** What a job is, for log lines: "action job", "revocation follow-up". */
  what: string;
}): { stop(withinMs: number): Promise<void> } {
  const { worker, settle, signal, logger, what } = options;
  const sweep = new FailedJobsSweep(options.queue, settle, (job, error) => {
    const minutes = Math.floor((Date.now() - (job.finishedOn ?? 0)) / 60_000);
    if (minutes < STUCK_AFTER_MINUTES) {
      logger.warn({ err: error, job: job.id }, `Could not settle a failed ${what} yet`);
    } else {
      // Retried every 30 s for as long as it fails: someone should look.
      logger.error(
        { err: error, job: job.id, minutes },
        `A failed ${what} is still not settled ${minutes} minutes after it failed`,
      );
    }
  });
  worker.on('failed', (job, error) => {
    if (job && isLastFailure(job, error)) {
      retried(() => settle(job, error.message), signal)
        .then(() => sweep.settled(job))
        .catch((reason: unknown) =>
          logger.error(
            { err: reason, job: job.id },
            `Could not settle a failed ${what}: the sweep of failed jobs will`,
          ),
        );
    }
  });
  const timer = runEvery(
    FAILED_SWEEP_EVERY_MS,
    () => sweep.run(signal),
    (error) => logger.warn({ err: error }, `Sweep of failed ${what}s failed`),
  );
  return { stop: (withinMs) => settleWithin(timer.stop(), withinMs).then(() => undefined) };
}
