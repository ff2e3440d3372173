import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { AppConfig } from '@app/config';
import { HealthRegistry } from '@app/health';
import { settleWithin } from '@app/core';
import { closeConnection, connectOrExplain, RedisService } from '@app/redis';
import {
  AbortMessage,
  ACTIONS_QUEUE,
  ActionsQueue,
  ActionsRepository,
  ActionTypesService,
  ExecuteActionJob,
  ExecutionError,
  ExecutorRegistry,
} from '@app/actions';

/**
 * Runs released actions. Every job passes the fence (one Lua script) before its executor is
 * called, and releases the agent's next action when it ends.
 */
@Injectable()
export class ActionsWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ActionsWorker.name);
  private worker?: Worker<ExecuteActionJob>;
  private workerConnection?: Redis;
  private control?: Redis;
  /** Running actions of this process, so a broadcast abort can reach their executors. */
  private readonly running = new Map<string, AbortController>();
  private readonly shutdown = new AbortController();

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly actions: ActionsRepository,
    private readonly types: ActionTypesService,
    private readonly executors: ExecutorRegistry,
    private readonly queue: ActionsQueue,
    health: HealthRegistry,
  ) {
    health.register({
      name: 'workers',
      check: () => {
        if (!this.config.workers) {
          return Promise.resolve({ workers: 'off' });
        }
        if (!this.worker?.isRunning()) {
          return Promise.reject(new Error('action workers are not running'));
        }
        return Promise.resolve({ concurrency: this.config.actionWorkerConcurrency });
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.workers) {
      return;
    }
    this.control = this.redis.duplicate('subscriber', 'actions-control');
    await connectOrExplain(this.control, this.config.redisUrl);
    this.control.on('message', (_channel: string, message: string) => this.onControl(message));
    await this.control.subscribe(this.redis.keys.control());

    this.workerConnection = this.redis.duplicate('worker', 'actions-worker');
    this.worker = new Worker<ExecuteActionJob>(ACTIONS_QUEUE, (job) => this.process(job), {
      connection: this.workerConnection,
      prefix: this.redis.keys.bullPrefix(),
      concurrency: this.config.actionWorkerConcurrency,
    });
    this.worker.on('error', (error) => this.logger.warn({ err: error }, 'Action worker error'));
    await this.worker.waitUntilReady();
  }

  /** Aborts an action if it runs in this process; answers whether it did. */
  abortLocal(actionId: string): boolean {
    const controller = this.running.get(actionId);
    controller?.abort();
    return controller !== undefined;
  }

  private onControl(message: string): void {
    try {
      const parsed = JSON.parse(message) as AbortMessage;
      if (typeof parsed.abort === 'string') {
        this.abortLocal(parsed.abort);
      }
    } catch {
      this.logger.warn('Ignored a malformed control message');
    }
  }

  private async process(job: Job<ExecuteActionJob>): Promise<void> {
    const { agentId, actionId } = job.data;
    const attempt = job.attemptsMade + 1;
    const start = await this.actions.start(agentId, actionId, attempt);
    switch (start.kind) {
      case 'gone':
      case 'halted':
        return;
      case 'done':
        // A re-run after a crash past the finish: re-release what that finish released.
        await this.releaseStillPending(
          agentId,
          await this.actions.finish(agentId, actionId, 'succeeded'),
        );
        return;
      case 'run':
        break;
    }
    const controller = new AbortController();
    this.running.set(actionId, controller);
    let released: string[];
    try {
      const type = await this.types.require(start.type);
      const outcome = await this.executors.execute(type.executor, {
        actionId,
        agentId,
        type: start.type,
        params: start.params,
        attempt,
        signal: AbortSignal.any([controller.signal, this.shutdown.signal]),
      });
      released = await this.actions.finish(agentId, actionId, 'succeeded', outcome);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (controller.signal.aborted) {
        released = await this.actions.finish(agentId, actionId, 'aborted', {
          error: 'aborted by revocation',
        });
      } else {
        // Cut short by our own shutdown: another worker should try again.
        const retryable =
          this.shutdown.signal.aborted || !(error instanceof ExecutionError) || error.retryable;
        if (retryable && attempt < (job.opts.attempts ?? 1)) {
          await this.actions.finish(agentId, actionId, 'retrying', { error: message });
          throw error;
        }
        released = await this.actions.finish(agentId, actionId, 'failed', { error: message });
      }
    } finally {
      this.running.delete(actionId);
    }
    await this.queue.release(agentId, released);
  }

  private async releaseStillPending(agentId: string, ids: string[]): Promise<void> {
    const pending: string[] = [];
    for (const id of ids) {
      if (await this.actions.isReleased(agentId, id)) {
        pending.push(id);
      }
    }
    await this.queue.release(agentId, pending);
  }

  async onApplicationShutdown(): Promise<void> {
    // worker.close() waits for running jobs without a limit of its own; bound it, then cut
    // the executors so their jobs end (a stalled job is picked up again elsewhere).
    if (this.worker) {
      const worker = this.worker;
      const budget = this.config.shutdownTimeoutMs / 3;
      if (!(await settleWithin(worker.close(), budget))) {
        this.shutdown.abort();
        if (!(await settleWithin(worker.close(), budget))) {
          this.logger.warn('Action worker did not close in time; forcing it');
          void worker.close(true).catch(() => undefined);
        }
      }
    }
    await Promise.all([
      this.workerConnection ? closeConnection(this.workerConnection) : undefined,
      this.control ? closeConnection(this.control) : undefined,
    ]);
  }
}
