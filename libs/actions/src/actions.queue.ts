import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '@app/config';
import { settleWithin } from '@app/core';
import { addJobs, closeConnection, RedisService } from '@app/redis';
import type Redis from 'ioredis';

export const ACTIONS_QUEUE = 'actions';

/** Messages on the control channel that every worker process listens to. */
export type ControlMessage =
  /** Abort this action wherever it runs, for this incident's stop (where the abort is counted). */
  | { abort: string; incidentId: string }
  /** The catalog entry of this type changed: forget any cached copy. */
  | { typeChanged: string };

/** The one job of the actions queue: carry out one released action. */
export interface ExecuteActionJob {
  agentId: string;
  actionId: string;
  /** Attempts already made before this job existed (an action first run inside another job). */
  attemptOffset?: number;
}

/**
 * The actions queue's job options (exported for bench/actions, whose plain BullMQ baseline must
 * do the same bookkeeping per job).
 */
export function actionJobOptions(attempts: number, backoffMs: number) {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    // The ledger is ours; BullMQ keeps only a short tail for debugging.
    removeOnComplete: { count: 1000 },
    // Kept until settled: the workers' sweep of failed jobs removes each one it settles.
    removeOnFail: false,
  };
}

/**
 * Owns the producer side of the actions queue. Job ids are the action ids, so adding a
 * released action twice (a retry, a sweep, a worker re-running after a crash) is a no-op.
 */
@Injectable()
export class ActionsQueue implements OnApplicationShutdown {
  readonly queue: Queue<ExecuteActionJob>;
  private readonly connection: Redis;

  constructor(
    redis: RedisService,
    private readonly config: AppConfig,
  ) {
    // Producers fail fast: an add while Redis is away errors now instead of queueing offline.
    this.connection = redis.duplicate('producer', 'actions-producer');
    this.queue = new Queue<ExecuteActionJob>(ACTIONS_QUEUE, {
      connection: this.connection,
      prefix: redis.keys.bullPrefix(),
      defaultJobOptions: actionJobOptions(config.actionMaxAttempts, config.actionBackoffMs),
    });
  }

  async release(agentId: string, actionIds: string[]): Promise<void> {
    await addJobs(
      this.queue,
      actionIds.map((actionId) => ({
        name: 'execute',
        data: { agentId, actionId },
        opts: { jobId: actionId },
      })),
    );
  }

  /**
   * Schedules another attempt of an action that first ran inside another action's job (so it
   * has no job of its own yet), after `delayMs`, keeping the count of attempts already made.
   */
  async retryLater(
    agentId: string,
    actionId: string,
    attemptsMade: number,
    delayMs: number,
  ): Promise<void> {
    await this.queue.add(
      'execute',
      { agentId, actionId, attemptOffset: attemptsMade },
      {
        // Not the action id: a job of that id may have run already (the action's own, or a
        // sweep's that found it running inline elsewhere), and would make this add a no-op.
        jobId: `${actionId}-retry${attemptsMade}`,
        delay: delayMs,
        attempts: Math.max(1, this.config.actionMaxAttempts - attemptsMade),
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await settleWithin(this.queue.close(), this.config.shutdownTimeoutMs / 4);
    await closeConnection(this.connection);
  }
}
