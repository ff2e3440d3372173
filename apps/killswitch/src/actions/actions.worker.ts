import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { AppConfig } from '@app/config';
import { settleWithin } from '@app/core';
import { HealthRegistry } from '@app/health';
import {
  closeConnection,
  connectOrExplain,
  isRedisUnavailable,
  outageAwareWarning,
  RedisService,
} from '@app/redis';
import {
  ACTIONS_QUEUE,
  ActionsQueue,
  ActionsRepository,
  ActionsService,
  ActionTypesService,
  ActionType,
  ExecuteActionJob,
  ExecutionError,
  ExecutorRegistry,
} from '@app/actions';
import { ACTION_MAX_STALLS, handOver, lastFailureReason, settleFailedJobs } from '../common/jobs';

// How many of one agent's actions one job runs before handing the rest to the queue, so a busy
// agent cannot hold a worker slot while others wait.
const INLINE_LIMIT = 50;

/**
 * The reason an action's signal carries when a revocation aborts it: the incident that asked,
 * where the abort is counted (none from a process that predates it: aborted all the same).
 */
class RevocationAbort extends Error {
  constructor(readonly incidentId?: string) {
    super(incidentId ? `aborted by revocation (${incidentId})` : 'aborted by revocation');
  }
}

/**
 * The reason an action's signal carries when its job's lock was not renewed in time (Redis out
 * of reach, or the lock taken): another worker will run the job again once the lock lapses,
 * and the two runs must not overlap at the tool server.
 */
class LockLost extends Error {
  constructor() {
    super("its job's lock could not be renewed");
  }
}

// A job's lock lasts 10 s and is renewed every few seconds; one not renewed for 8 s is about to
// lapse, after which another worker may start the same job.
const LOCK_DURATION_MS = 10_000;
const LOCK_GIVEN_UP_MS = 8_000;

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
  private readonly running = new Map<string, { controller: AbortController; job: string }>();
  /** When each job running here last had its lock renewed (or started). */
  private readonly locks = new Map<string, number>();
  private lockWatch?: NodeJS.Timeout;
  private readonly shutdown = new AbortController();
  /** Aborted as shutdown begins: settling an abandoned job stops waiting to try again. */
  private readonly closing = new AbortController();
  private readonly typeCache = new Map<string, { definition: ActionType; until: number }>();
  private failedJobs?: ReturnType<typeof settleFailedJobs>;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly actions: ActionsRepository,
    private readonly types: ActionTypesService,
    private readonly executors: ExecutorRegistry,
    private readonly queue: ActionsQueue,
    private readonly service: ActionsService,
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
    this.worker = new Worker<ExecuteActionJob>(
      ACTIONS_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection: this.workerConnection,
        prefix: this.redis.keys.bullPrefix(),
        concurrency: this.config.actionWorkerConcurrency,
        // A job whose worker died runs again within ~15 s, not BullMQ's default ~60 s.
        lockDuration: LOCK_DURATION_MS,
        stalledInterval: 5_000,
        // A job re-run after a stall runs its action again (the tool server may see it twice), so
        // once is enough; a second stall fails it (see abandoned()).
        maxStalledCount: ACTION_MAX_STALLS,
      },
    );
    this.worker.on('error', outageAwareWarning(this.logger, 'Action worker error'));
    this.worker.on('locksRenewed', ({ jobIds }) => {
      const now = Date.now();
      for (const id of jobIds) {
        if (this.locks.has(id)) {
          this.locks.set(id, now);
        }
      }
    });
    this.worker.on('lockRenewalFailed', (jobIds) => jobIds.forEach((id) => this.lockLost(id)));
    this.lockWatch = setInterval(() => {
      const now = Date.now();
      for (const [id, renewedAt] of this.locks) {
        if (now - renewedAt > LOCK_GIVEN_UP_MS) {
          this.lockLost(id);
        }
      }
    }, 500).unref();
    // What a job that failed for good left running must not hold the agent's queue.
    this.failedJobs = settleFailedJobs({
      worker: this.worker,
      queue: this.queue.queue,
      settle: (job, reason) => this.abandoned(job, reason),
      signal: this.closing.signal,
      logger: this.logger,
      what: 'action job',
    });
    await this.worker.waitUntilReady();
  }

  /** An action job failed for good: what it left running must not hold the agent's queue. */
  private async abandoned(job: Job<ExecuteActionJob>, error: string): Promise<void> {
    const { agentId, actionId } = job.data;
    const why = `gave up: ${lastFailureReason(error, ACTION_MAX_STALLS)}; it may have partly happened`;
    const failed = await this.service.settleAbandoned(agentId, actionId, job.id ?? actionId, why);
    this.logger.warn({ agentId, job: job.id, failed, error }, 'An action job failed for good');
  }

  /**
   * Aborts an action if it runs in this process, for the incident that asked (the signal's
   * reason, so the action's end is counted on that incident); answers whether it did.
   */
  abortLocal(actionId: string, incidentId?: string): boolean {
    const run = this.running.get(actionId);
    run?.controller.abort(new RevocationAbort(incidentId));
    return run !== undefined;
  }

  /**
   * A job whose lock lapses is run again by another worker: its executor is cut first, so
   * that the tool server never has the same action from two workers at once.
   */
  private lockLost(jobId: string): void {
    if (!this.locks.delete(jobId)) {
      return;
    }
    for (const [actionId, run] of this.running) {
      if (run.job === jobId && !run.controller.signal.aborted) {
        this.logger.warn(
          { job: jobId, actionId },
          "An action's job could not renew its lock: its run is cut, and the job runs again",
        );
        run.controller.abort(new LockLost());
      }
    }
  }

  private onControl(message: string): void {
    try {
      const parsed = JSON.parse(message) as Partial<Record<string, unknown>>;
      if (typeof parsed.abort === 'string') {
        this.abortLocal(
          parsed.abort,
          typeof parsed.incidentId === 'string' ? parsed.incidentId : undefined,
        );
      }
      if (typeof parsed.typeChanged === 'string') {
        this.typeCache.delete(parsed.typeChanged);
      }
    } catch {
      this.logger.warn('Ignored a malformed control message');
    }
  }

  /**
   * One job: the action it names, then, in the same job, the agent's next actions as each
   * releases the next (the usual one-at-a-time case), up to INLINE_LIMIT. Their order and
   * fencing are unchanged (each passes start-action.lua), but they skip a BullMQ round trip
   * each, which is most of what the gate costs (bench/actions). A crash mid-chain is resumed
   * by the job's re-run, which follows the chain to the first unfinished action.
   */
  private async process(job: Job<ExecuteActionJob>, token?: string): Promise<void> {
    const runner = job.id ?? job.data.actionId;
    this.locks.set(runner, Date.now());
    try {
      await this.runJob(job, runner);
    } catch (error) {
      if (!(error instanceof LockLost) && !this.shutdown.signal.aborted) {
        throw error;
      }
      // Its lock lost, or its call cut by this process' shutdown: not a failed attempt.
      await handOver(job, token);
    } finally {
      this.locks.delete(runner);
    }
  }

  private async runJob(job: Job<ExecuteActionJob>, runner: string): Promise<void> {
    const { agentId, actionId } = job.data;
    const attempt = (job.data.attemptOffset ?? 0) + job.attemptsMade + 1;
    // `runner`: this job alone may start again an action it marked running (its re-run).
    const first = await this.runOne(agentId, actionId, attempt, runner);
    if (first.kind === 'retry') {
      throw first.error; // BullMQ retries this job with backoff
    }
    let next = first.released;
    for (let n = 0; n < INLINE_LIMIT && next.length === 1 && !this.shutdown.signal.aborted; n++) {
      if (!this.locks.has(runner)) {
        // The job's re-run, wherever it runs, resumes the chain here: not both.
        throw new LockLost();
      }
      const id = next[0];
      const outcome = await this.runOne(agentId, id, 1, runner);
      if (outcome.kind === 'retry') {
        if (outcome.error instanceof LockLost) {
          // As if this process had died here: the job's re-run resumes the chain.
          throw outcome.error;
        }
        await this.queue.retryLater(agentId, id, 1, this.config.actionBackoffMs);
        return;
      }
      next = outcome.released;
    }
    await this.queue.release(agentId, next);
  }

  /** Runs one attempt of one action behind the fence; answers what its end released. */
  private async runOne(
    agentId: string,
    actionId: string,
    attempt: number,
    runner: string,
  ): Promise<{ kind: 'released'; released: string[] } | { kind: 'retry'; error: unknown }> {
    const start = await this.actions.start(agentId, actionId, attempt, runner);
    switch (start.kind) {
      case 'gone':
      case 'halted':
        return { kind: 'released', released: start.released };
      case 'done':
        // Running under another job (which owns the chain from there): nothing to do here.
        // Ended: a re-run after a crash past the finish; resume the chain where it stopped.
        return {
          kind: 'released',
          released: start.status === 'running' ? [] : await this.resumeChain(agentId, actionId),
        };
      case 'run':
        break;
    }
    if (!this.locks.has(runner)) {
      // Lost while starting it: marked running, not called; the job's re-run calls it.
      return { kind: 'retry', error: new LockLost() };
    }
    const controller = new AbortController();
    this.running.set(actionId, { controller, job: runner });
    try {
      const type = await this.typeOf(start.type);
      const outcome = await this.executors.execute(type.executor, {
        actionId,
        agentId,
        type: start.type,
        params: start.params,
        attempt,
        // Aborted by a revocation's broadcast, or by our own shutdown (which aborts them all).
        signal: controller.signal,
      });
      return {
        kind: 'released',
        released: await this.recordSuccess(agentId, actionId, runner, outcome),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const reason: unknown = controller.signal.reason;
      if (reason instanceof LockLost) {
        // Nothing written: the job's re-run, perhaps on another worker and perhaps already
        // started, decides how the action goes on.
        return { kind: 'retry', error: reason };
      }
      if (reason instanceof RevocationAbort && !this.shutdown.signal.aborted) {
        const released = await this.actions.finish(agentId, actionId, 'aborted', {
          error: reason.message,
          abortedBy: reason.incidentId,
        });
        return { kind: 'released', released };
      }
      // Cut short by our own shutdown: another worker should try again.
      const retryable =
        this.shutdown.signal.aborted || !(error instanceof ExecutionError) || error.retryable;
      if (retryable && attempt < this.config.actionMaxAttempts) {
        await this.actions.finish(agentId, actionId, 'retrying', { error: message });
        return { kind: 'retry', error };
      }
      const released = await this.actions.finish(agentId, actionId, 'failed', { error: message });
      return { kind: 'released', released };
    } finally {
      this.running.delete(actionId);
    }
  }

  /**
   * Records a success, trying again while Redis cannot serve and the job still holds its lock:
   * the tool server did the action, and its outcome (the undo a stop sends back) must survive a
   * Redis restart or failover of a few seconds. Past that, the job's re-run decides, and the
   * action may reach the tool server again.
   */
  private async recordSuccess(
    agentId: string,
    actionId: string,
    runner: string,
    outcome: { result?: unknown; undo?: unknown },
  ): Promise<string[]> {
    for (;;) {
      try {
        return await this.actions.finish(agentId, actionId, 'succeeded', outcome);
      } catch (error) {
        if (!isRedisUnavailable(error) || !this.locks.has(runner) || this.shutdown.signal.aborted) {
          throw error;
        }
        await sleep(250);
      }
    }
  }

  /**
   * The catalog's definition of a type, read at most once a second per type; a change to the
   * catalog is broadcast on the control channel and drops the cached copy at once.
   */
  private async typeOf(type: string): Promise<ActionType> {
    const cached = this.typeCache.get(type);
    if (cached && cached.until > Date.now()) {
      return cached.definition;
    }
    const definition = await this.types.require(type);
    this.typeCache.set(type, { definition, until: Date.now() + 1000 });
    return definition;
  }

  /**
   * Follows what a finished action released, and what those released in turn, to the actions
   * still waiting to run: a chain run inside one job may have stopped anywhere.
   */
  private async resumeChain(agentId: string, actionId: string): Promise<string[]> {
    const waiting: string[] = [];
    let frontier = await this.actions.finish(agentId, actionId, 'succeeded');
    for (let hops = 0; frontier.length > 0 && hops < 10_000; hops++) {
      const next: string[] = [];
      for (const id of frontier) {
        if (await this.actions.isReleased(agentId, id)) {
          waiting.push(id);
        } else {
          // Ended already (finished in this chain before the crash, or halted).
          next.push(...(await this.actions.releasedBy(agentId, id)));
        }
      }
      frontier = next;
    }
    return waiting;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.lockWatch);
    this.closing.abort();
    await this.failedJobs?.stop(this.config.shutdownTimeoutMs / 4);
    // worker.close() waits for running jobs without a limit of its own; bound it, then cut
    // the executors so their jobs end (a stalled job is picked up again elsewhere).
    if (this.worker) {
      const worker = this.worker;
      const budget = this.config.shutdownTimeoutMs / 3;
      if (!(await settleWithin(worker.close(), budget))) {
        this.shutdown.abort();
        for (const { controller } of this.running.values()) {
          controller.abort();
        }
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
