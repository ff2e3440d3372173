import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from '@app/config';
import { isoMs } from '@app/core';
import type { FollowupCounts } from '@app/incidents';
import {
  Confirmations,
  defineScript,
  execOrThrow,
  Keys,
  RedisService,
  runScript,
} from '@app/redis';
import {
  Action,
  LedgerEntry,
  ACTION_FIELDS,
  actionFromFields,
  ActionStatus,
  ActionSummary,
  agentOfAction,
} from './action';
import type { ControlMessage } from './actions.queue';

const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

// A ledger entry's read (see ActionsRepository.ledger): an action's fields without the large
// ones, and where each of ACTION_FIELDS sits in it (-1: left out).
const HEAVY_FIELDS = new Set<string>(['params', 'result', 'undo']);
const LEAN_FIELDS = ACTION_FIELDS.filter((field) => !HEAVY_FIELDS.has(field));
const LEAN_AT = ACTION_FIELDS.map((field) => LEAN_FIELDS.indexOf(field as never));

// A follow-up record's field per running action the follow-up asked to abort (its counters are
// halted, aborted and rolledBack).
const ABORT_ASKED = 'abort:';

const countsOf = (
  halted?: string | null,
  aborted?: string | null,
  rolledBack?: string | null,
): FollowupCounts => ({
  halted: Number(halted ?? 0),
  aborted: Number(aborted ?? 0),
  rolledBack: Number(rolledBack ?? 0),
});

export type SubmitResult =
  | { kind: 'ok'; released: string[] }
  | { kind: 'existing'; actionId: string; status: string }
  | { kind: 'revoked'; revokedAt?: number; incidentId?: string; reason?: string }
  | { kind: 'invalid' }
  | { kind: 'forbidden' }
  /** The agent has `live` actions queued or running, and may have at most `max`. */
  | { kind: 'full'; live: number; max: number };

export type StartResult =
  | { kind: 'run'; type: string; params: unknown; epoch: number }
  | { kind: 'halted'; released: string[] }
  | { kind: 'done'; status: string }
  | { kind: 'gone'; released: string[] };

/** A compensation's claim: only a granted one carries the undo, its params. */
export type RollbackClaim =
  | { kind: 'claimed'; undo: unknown }
  | { kind: 'interrupted' }
  | { kind: 'elsewhere' }
  | { kind: 'not_eligible' };

export type FinalStatus = 'succeeded' | 'failed' | 'aborted' | 'retrying';

@Injectable()
export class ActionsRepository {
  private readonly keys: Keys;
  private readonly unconfirmed: Confirmations;
  /** How long an ended action stays readable (ACTION_RETENTION_DAYS). */
  private readonly retentionMs: number;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.keys = redis.keys;
    this.unconfirmed = new Confirmations(redis.client, redis.keys.gateUnconfirmed());
    this.retentionMs = config.actionRetentionDays * 24 * 3600 * 1000;
    defineScript(redis.client, 'ksSubmitAction', script('submit-action'));
    defineScript(redis.client, 'ksStartAction', script('start-action'));
    defineScript(redis.client, 'ksFinishAction', script('finish-action'));
    defineScript(redis.client, 'ksHaltQueued', script('halt-queued'));
    defineScript(redis.client, 'ksClaimRollback', script('claim-rollback'));
    defineScript(redis.client, 'ksSettleRollback', script('settle-rollback'));
  }

  async submit(input: {
    agentId: string;
    actionId: string;
    epoch: number;
    type: string;
    params: string;
    idempotencyKey?: string;
  }): Promise<SubmitResult> {
    const k = this.keys;
    const { agentId, actionId } = input;
    const reply = await runScript<string[]>(
      this.redis.client,
      'ksSubmitAction',
      [
        k.agent(agentId),
        k.action(agentId, actionId),
        k.actionHistory(agentId, actionId),
        k.agentActions(agentId),
        k.agentPending(agentId),
        k.agentRunning(agentId),
        ...(input.idempotencyKey ? [k.idempotency(agentId, input.idempotencyKey)] : []),
      ],
      [
        actionId,
        input.epoch,
        input.type,
        input.params,
        input.idempotencyKey ?? '',
        this.config.actionAgentConcurrency,
        k.events(),
        this.config.actionRetentionPerAgent,
        k.action(agentId, ''),
        this.config.actionMaxQueuedPerAgent,
      ],
    );
    switch (reply[0]) {
      case 'ok':
        return { kind: 'ok', released: reply.slice(1) };
      case 'existing':
        return { kind: 'existing', actionId: reply[1], status: reply[2] };
      case 'revoked':
        return {
          kind: 'revoked',
          revokedAt: reply[1] ? Number(reply[1]) : undefined,
          incidentId: reply[2] || undefined,
          reason: reply[3] || undefined,
        };
      case 'forbidden':
        return { kind: 'forbidden' };
      case 'full':
        return {
          kind: 'full',
          live: Number(reply[1]),
          max: this.config.actionMaxQueuedPerAgent,
        };
      default:
        return { kind: 'invalid' };
    }
  }

  /**
   * The fence at job start. `runner` is the job's id: the one job that may start the action
   * again (its re-run after a crash) once it is running.
   */
  async start(
    agentId: string,
    actionId: string,
    attempt: number,
    runner: string,
  ): Promise<StartResult> {
    const k = this.keys;
    const reply = await runScript<string[]>(
      this.redis.client,
      'ksStartAction',
      this.gateKeys(agentId, actionId),
      [
        attempt,
        k.events(),
        k.agentFollowup(agentId, ''),
        runner,
        this.retentionMs,
        this.config.actionAgentConcurrency,
      ],
    );
    switch (reply[0]) {
      case 'run':
        return {
          kind: 'run',
          type: reply[1],
          params: JSON.parse(reply[2]) as unknown,
          epoch: Number(reply[3]),
        };
      case 'halted':
        return { kind: 'halted', released: reply.slice(1) };
      case 'done':
        return { kind: 'done', status: reply[1] };
      default:
        return { kind: 'gone', released: reply.slice(1) };
    }
  }

  /** The keys start-action.lua and finish-action.lua take: the agent, the action, its queue. */
  private gateKeys(agentId: string, actionId: string): string[] {
    const k = this.keys;
    return [
      k.agent(agentId),
      k.action(agentId, actionId),
      k.actionHistory(agentId, actionId),
      k.agentRunning(agentId),
      k.agentPending(agentId),
    ];
  }

  /** Records the end (or a failed attempt) of an action; answers the ids it released. */
  async finish(
    agentId: string,
    actionId: string,
    status: FinalStatus,
    outcome: { result?: unknown; undo?: unknown; error?: string; abortedBy?: string } = {},
  ): Promise<string[]> {
    const k = this.keys;
    const reply = await runScript<string[]>(
      this.redis.client,
      'ksFinishAction',
      this.gateKeys(agentId, actionId),
      [
        status,
        outcome.result === undefined ? '' : JSON.stringify(outcome.result),
        outcome.undo === undefined ? '' : JSON.stringify(outcome.undo),
        outcome.error ?? '',
        k.events(),
        this.retentionMs,
        this.config.actionAgentConcurrency,
        outcome.abortedBy === undefined ? '' : k.agentFollowup(agentId, outcome.abortedBy),
      ],
    );
    return reply.slice(1);
  }

  /**
   * Halts one batch of an agent's stale queued actions, up to the epoch `incidentId` revoked,
   * counted on its follow-up: `{halted, examined, released}`, where `released` are a reinstated
   * agent's newer actions moved into the room this made.
   */
  async haltQueuedBatch(
    agentId: string,
    batch: number,
    detail: string,
    incidentId: string,
    revokedEpoch: number,
  ): Promise<{ halted: number; examined: number; released: string[] }> {
    const k = this.keys;
    const [halted, examined, ...released] = await runScript<[number, number, ...string[]]>(
      this.redis.client,
      'ksHaltQueued',
      [k.agent(agentId), k.agentPending(agentId), k.agentRunning(agentId)],
      [
        k.action(agentId, ''),
        batch,
        k.events(),
        detail,
        this.retentionMs,
        k.agentFollowup(agentId, ''),
        this.config.actionAgentConcurrency,
        incidentId,
        revokedEpoch,
      ],
    );
    return { halted, examined, released };
  }

  /**
   * Claims a succeeded action's compensation for `incidentId`, once ever (claim-rollback.lua
   * says when it is refused).
   */
  async claimRollback(
    agentId: string,
    actionId: string,
    incidentId: string,
  ): Promise<RollbackClaim> {
    const [kind, undo] = await runScript<[RollbackClaim['kind'], string?]>(
      this.redis.client,
      'ksClaimRollback',
      [this.keys.action(agentId, actionId)],
      [incidentId],
    );
    return kind === 'claimed'
      ? { kind, undo: undo ? (JSON.parse(undo) as unknown) : undefined }
      : { kind };
  }

  async settleRollback(
    agentId: string,
    actionId: string,
    incidentId: string,
    status: 'rolled_back' | 'rollback_failed',
    detail: string,
  ): Promise<boolean> {
    const k = this.keys;
    const settled = await runScript<number>(
      this.redis.client,
      'ksSettleRollback',
      [
        k.action(agentId, actionId),
        k.actionHistory(agentId, actionId),
        k.agentFollowup(agentId, incidentId),
      ],
      [status, detail, k.events()],
    );
    return settled === 1;
  }

  /** What one incident's follow-up did to an agent (exact counters kept by the Lua scripts). */
  async followupCounts(agentId: string, incidentId: string): Promise<FollowupCounts> {
    const [halted, aborted, rolledBack] = await this.redis.client.hmget(
      this.keys.agentFollowup(agentId, incidentId),
      'halted',
      'aborted',
      'rolledBack',
    );
    return countsOf(halted, aborted, rolledBack);
  }

  /**
   * What one incident's follow-up did to an agent, in full: its counts, and the running actions
   * it asked to abort (a resumed follow-up records on the timeline what they became).
   */
  async followupRecord(
    agentId: string,
    incidentId: string,
  ): Promise<{ counts: FollowupCounts; abortsAsked: string[] }> {
    const fields = await this.redis.client.hgetall(this.keys.agentFollowup(agentId, incidentId));
    return {
      counts: countsOf(fields.halted, fields.aborted, fields.rolledBack),
      abortsAsked: Object.keys(fields)
        .filter((field) => field.startsWith(ABORT_ASKED))
        .map((field) => field.slice(ABORT_ASKED.length)),
    };
  }

  /**
   * Tells every worker process to abort this action for `incidentId`'s stop, noting on that
   * stop's follow-up record of the agent that it asked, in the same transaction: the abort's
   * timeline entry can then be recovered if the follow-up dies before writing it.
   */
  async requestAbort(agentId: string, actionId: string, incidentId: string): Promise<void> {
    const message: ControlMessage = { abort: actionId, incidentId };
    await execOrThrow(
      this.redis.client
        .multi()
        .hset(this.keys.agentFollowup(agentId, incidentId), `${ABORT_ASKED}${actionId}`, Date.now())
        .publish(this.keys.control(), JSON.stringify(message)),
    );
  }

  /** Action ids currently released to the queue (running or about to start). */
  releasedIds(agentId: string): Promise<string[]> {
    return this.redis.client.smembers(this.keys.agentRunning(agentId));
  }

  async publishControl(message: ControlMessage): Promise<void> {
    await this.redis.client.publish(this.keys.control(), JSON.stringify(message));
  }

  async get(actionId: string): Promise<Action | undefined> {
    const agentId = agentOfAction(actionId);
    if (!agentId) {
      return undefined;
    }
    const [fields, history] = await Promise.all([
      this.redis.client.hmget(this.keys.action(agentId, actionId), ...ACTION_FIELDS),
      this.redis.client.lrange(this.keys.actionHistory(agentId, actionId), 0, -1),
    ]);
    return actionFromFields(fields, history);
  }

  /** The agent's ledger, newest first, from before the sequence number `before`. */
  async page(agentId: string, before: number | undefined, limit: number): Promise<Action[]> {
    const ids = await this.idsBefore(agentId, before, limit);
    if (ids.length === 0) {
      return [];
    }
    const pipeline = this.redis.client.pipeline();
    for (const id of ids) {
      pipeline.hmget(this.keys.action(agentId, id), ...ACTION_FIELDS);
      pipeline.lrange(this.keys.actionHistory(agentId, id), 0, -1);
    }
    const results = await execOrThrow(pipeline);
    const actions: Action[] = [];
    for (let i = 0; i < results.length; i += 2) {
      const action = actionFromFields(results[i] as (string | null)[], results[i + 1] as string[]);
      if (action) {
        actions.push(action);
      }
    }
    return actions;
  }

  /**
   * The agent's newest `limit` actions as a stop's follow-up reads them (a whole ledger per
   * agent, 64 agents at once): without their params, results, undo and history, which may hold
   * a megabyte an action. A compensation gets its undo with its claim ({@link claimRollback}).
   */
  async ledger(agentId: string, limit: number): Promise<LedgerEntry[]> {
    const ids = await this.idsBefore(agentId, undefined, limit);
    if (ids.length === 0) {
      return [];
    }
    const pipeline = this.redis.client.pipeline();
    for (const id of ids) {
      pipeline.hmget(this.keys.action(agentId, id), ...LEAN_FIELDS);
    }
    const entries: LedgerEntry[] = [];
    for (const lean of (await execOrThrow(pipeline)) as (string | null)[][]) {
      const action = actionFromFields(
        LEAN_AT.map((at) => (at < 0 ? null : lean[at])),
        [],
      );
      if (action) {
        const {
          params: _params,
          result: _result,
          undo: _undo,
          history: _history,
          ...entry
        } = action;
        entries.push(entry);
      }
    }
    return entries;
  }

  /**
   * The agent's newest actions, summarized: one small read each, without the params, results
   * and history a full page reads and parses (phones get these for every agent they show).
   */
  async recent(agentId: string, limit: number): Promise<ActionSummary[]> {
    const ids = await this.idsBefore(agentId, undefined, limit);
    const pipeline = this.redis.client.pipeline();
    for (const id of ids) {
      pipeline.hmget(this.keys.action(agentId, id), 'type', 'status', 'submittedAt', 'updatedAt');
    }
    const results = ids.length > 0 ? await execOrThrow(pipeline) : [];
    const summaries: ActionSummary[] = [];
    results.forEach((fields, i) => {
      const [type, status, submittedAt, updatedAt] = fields as (string | null)[];
      if (type && status && submittedAt) {
        summaries.push({
          id: ids[i],
          agentId,
          type,
          status: status as ActionStatus,
          submittedAt: isoMs(Number(submittedAt)),
          updatedAt: updatedAt ? isoMs(Number(updatedAt)) : undefined,
        });
      }
    });
    return summaries;
  }

  /** Whether the agent's ledger holds an action older than `seq` (one index read). */
  async hasBefore(agentId: string, seq: number): Promise<boolean> {
    return (await this.idsBefore(agentId, seq, 1)).length > 0;
  }

  private idsBefore(agentId: string, before: number | undefined, limit: number) {
    return this.redis.client.zrange(
      this.keys.agentActions(agentId),
      before === undefined ? '+inf' : `(${before}`,
      '-inf',
      'BYSCORE',
      'REV',
      'LIMIT',
      0,
      limit,
    );
  }

  /** Marks a submission as not yet confirmed in the queue (see `ActionsService.sweep`). */
  async markUnconfirmed(agentId: string, actionId: string, checkAt: number): Promise<void> {
    await this.unconfirmed.mark(`${agentId}|${actionId}`, checkAt);
  }

  confirm(agentId: string, actionId: string): Promise<void> {
    return this.unconfirmed.confirm(`${agentId}|${actionId}`);
  }

  async dueUnconfirmed(
    now: number,
    count: number,
  ): Promise<{ agentId: string; actionId: string }[]> {
    return (await this.unconfirmed.due(now, count)).map((member) => {
      const [agentId, actionId] = member.split('|');
      return { agentId, actionId };
    });
  }

  /** What an ended action released when it finished (recorded by finish-action.lua). */
  async releasedBy(agentId: string, actionId: string): Promise<string[]> {
    const released = await this.redis.client.hget(this.keys.action(agentId, actionId), 'released');
    return released ? released.split(',') : [];
  }

  /** Where an action stands for the job that may run it: its status and that job's id. */
  async runState(
    agentId: string,
    actionId: string,
  ): Promise<{ released: boolean; status?: string; runner?: string }> {
    const [released, [status, runner]] = await Promise.all([
      this.isReleased(agentId, actionId),
      this.redis.client.hmget(this.keys.action(agentId, actionId), 'status', 'runner'),
    ]);
    return { released, status: status ?? undefined, runner: runner ?? undefined };
  }

  /** Whether the action was released to the queue and has not finished. */
  async isReleased(agentId: string, actionId: string): Promise<boolean> {
    return (await this.redis.client.sismember(this.keys.agentRunning(agentId), actionId)) === 1;
  }
}
