import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { AppConfig } from '@app/config';
import { settleWithin } from '@app/core';
import { HealthRegistry } from '@app/health';
import { closeConnection, outageAwareWarning, RedisService } from '@app/redis';
import {
  FollowupService,
  REVOCATION_QUEUE,
  RevocationJob,
  RevocationQueue,
  ShuttingDown,
} from '@app/revocation';
import {
  FOLLOWUP_MAX_STALLS,
  handOver,
  isLastFailure,
  lastFailureReason,
  settleFailedJobs,
} from '../common/jobs';

/** Runs the durable follow-up of revocations: fan-out per incident, then one job per agent. */
@Injectable()
export class RevocationWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RevocationWorker.name);
  private worker?: Worker<RevocationJob>;
  private connection?: Redis;
  /** Aborted at shutdown: a report waiting to try again stops waiting, and so does the sweep. */
  private readonly closing = new AbortController();
  private failedJobs?: ReturnType<typeof settleFailedJobs>;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly followup: FollowupService,
    private readonly queue: RevocationQueue,
    health: HealthRegistry,
  ) {
    health.register({
      name: 'revocation-workers',
      check: () => {
        if (!this.config.workers) {
          return Promise.resolve({ workers: 'off' });
        }
        return this.worker?.isRunning()
          ? Promise.resolve()
          : Promise.reject(new Error('revocation workers are not running'));
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.workers) {
      return;
    }
    this.connection = this.redis.duplicate('worker', 'revocation-worker');
    this.worker = new Worker<RevocationJob>(
      REVOCATION_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection: this.connection,
        prefix: this.redis.keys.bullPrefix(),
        // Follow-up jobs mostly wait on Redis and tool servers; 64 keeps a 10,000-agent
        // revocation's halting under 20 s on two cores (bench/revoke).
        concurrency: 64,
        // A follow-up whose worker died is picked up again within ~15 s, not the default ~60 s.
        lockDuration: 10_000,
        stalledInterval: 5_000,
        // Every follow-up step is safe to run again (counts are kept by Lua scripts, compensations
        // claimed before they are sent).
        maxStalledCount: FOLLOWUP_MAX_STALLS,
      },
    );
    this.worker.on('error', outageAwareWarning(this.logger, 'Revocation worker error'));
    this.worker.on('failed', (job, error) => {
      this.logger.warn(
        { err: error, job: job?.id },
        job && isLastFailure(job, error)
          ? 'Revocation follow-up gave up after its retries'
          : 'Revocation follow-up attempt failed; it will retry',
      );
    });
    // Reported on its incident, so that the incident finishes.
    this.failedJobs = settleFailedJobs({
      worker: this.worker,
      queue: this.queue.queue,
      settle: (job, reason) =>
        this.followup.gaveUp(job.data, lastFailureReason(reason, FOLLOWUP_MAX_STALLS)),
      signal: this.closing.signal,
      logger: this.logger,
      what: 'revocation follow-up',
    });
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<RevocationJob>, token?: string): Promise<void> {
    try {
      await this.follow(job);
    } catch (error) {
      if (!(error instanceof ShuttingDown)) {
        throw error;
      }
      this.logger.log({ job: job.id }, 'Revocation follow-up handed over: shutting down');
      await handOver(job, token);
    }
  }

  private async follow(job: Job<RevocationJob>): Promise<void> {
    const data = job.data;
    switch (data.kind) {
      case 'incident':
        return this.followup.followIncident(data.incidentId);
      case 'agent':
        // Started before (BullMQ counts each start, a stalled one's too): an earlier run may
        // have done steps it did not get to record.
        return this.followup.followAgent(
          data.incidentId,
          data.agentId,
          data.revokedEpoch,
          job.attemptsStarted > 1,
          this.closing.signal,
        );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing.abort();
    await this.failedJobs?.stop(this.config.shutdownTimeoutMs / 4);
    if (
      this.worker &&
      !(await settleWithin(this.worker.close(), this.config.shutdownTimeoutMs / 2))
    ) {
      void this.worker.close(true).catch(() => undefined);
    }
    if (this.connection) {
      await closeConnection(this.connection);
    }
  }
}
