import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { AppConfig } from '@app/config';
import { settleWithin } from '@app/core';
import { addJobs, closeConnection, RedisService } from '@app/redis';

export const REVOCATION_QUEUE = 'revocation';

/** Jobs of the revocation queue: one per incident (fan-out), then one per fenced agent. */
export type RevocationJob =
  | { kind: 'incident'; incidentId: string }
  | { kind: 'agent'; incidentId: string; agentId: string; revokedEpoch: number };

/**
 * Durable follow-up work. Job ids are derived from the incident (and agent), so a job added
 * twice, or re-run after a crash, is still one piece of work.
 */
@Injectable()
export class RevocationQueue implements OnApplicationShutdown {
  readonly queue: Queue<RevocationJob>;
  private readonly connection: Redis;

  constructor(
    redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.connection = redis.duplicate('producer', 'revocation-producer');
    this.queue = new Queue<RevocationJob>(REVOCATION_QUEUE, {
      connection: this.connection,
      prefix: redis.keys.bullPrefix(),
      defaultJobOptions: {
        attempts: 10,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: { count: 1000 },
        // Kept until settled: the workers' sweep of failed jobs removes each one it settles.
        removeOnFail: false,
      },
    });
  }

  /** Queues an incident's fan-out (fence what is left, then one job per agent). */
  async followIncident(incidentId: string): Promise<void> {
    await this.queue.add('incident', { kind: 'incident', incidentId }, { jobId: incidentId });
  }

  async followAgents(
    incidentId: string,
    agents: { agentId: string; revokedEpoch: number }[],
  ): Promise<void> {
    await addJobs(
      this.queue,
      agents.map(({ agentId, revokedEpoch }) => ({
        name: 'agent',
        data: { kind: 'agent' as const, incidentId, agentId, revokedEpoch },
        opts: { jobId: `${incidentId}-${agentId}` },
      })),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await settleWithin(this.queue.close(), this.config.shutdownTimeoutMs / 4);
    await closeConnection(this.connection);
  }
}
