import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import type { FencedAgent, StoredEntry } from '@app/incidents';
import { Confirmations, defineScript, Keys, RedisService, runScript } from '@app/redis';

const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

export type FenceResult =
  /** `owner` is '' when fenced without `publish` (bulk revocations do not need it). */
  | { kind: 'revoked'; epoch: number; revokedAt: number; owner: string }
  | {
      kind: 'already';
      epoch: number;
      revokedAt: number;
      reason: string;
      incidentId?: string;
      owner: string;
    }
  | { kind: 'missing' };

/** A fence's results, sorted once for the answer and for what follows. */
export interface FencedBy {
  /** The agents that exist, in order. */
  existing: string[];
  /**
   * Those this incident fenced (by its call, or by its own fan-out), each with the epoch it was
   * revoked at (what its follow-up halts and rolls back) and when.
   */
  ours: (FencedAgent & { revokedAt: number })[];
  /** Those revoked before by another incident. */
  earlier: string[];
  /** The latest of those earlier revocations (`revokedAt` 0 when there is none). */
  latestEarlier: { revokedAt: number; incidentId: string };
  /** Ids of no agent. */
  missing: string[];
}

export function fencedBy(results: Map<string, FenceResult>, incidentId: string): FencedBy {
  const sorted: FencedBy = {
    existing: [],
    ours: [],
    earlier: [],
    latestEarlier: { revokedAt: 0, incidentId: '' },
    missing: [],
  };
  for (const [agentId, result] of results) {
    if (result.kind === 'missing') {
      sorted.missing.push(agentId);
      continue;
    }
    sorted.existing.push(agentId);
    if (result.kind === 'already' && result.incidentId !== incidentId) {
      sorted.earlier.push(agentId);
      const revokedAt = result.revokedAt || 0;
      if (revokedAt >= sorted.latestEarlier.revokedAt) {
        sorted.latestEarlier = {
          revokedAt,
          incidentId: result.incidentId ?? sorted.latestEarlier.incidentId,
        };
      }
    } else {
      sorted.ours.push({ agentId, revokedEpoch: result.epoch - 1, revokedAt: result.revokedAt });
    }
  }
  return sorted;
}

/**
 * The owners a fence's results name (small revocations, and agents revoked before): the incident
 * lists their agents, so they may read it. Owners of agents fenced in bulk are indexed by each
 * agent's follow-up instead.
 */
export function ownersOf(results: Map<string, FenceResult>): string[] {
  const owners = new Set<string>();
  for (const result of results.values()) {
    if (result.kind !== 'missing' && result.owner) {
      owners.add(result.owner);
    }
  }
  return [...owners];
}

export type ReinstateResult =
  | { kind: 'active'; epoch: number; reinstatedAt: number; incidentId?: string }
  | { kind: 'not_revoked'; epoch: number }
  | { kind: 'recording'; incidentId: string }
  /** Stopped by another incident each time it was read (three times): a stop in progress. */
  | { kind: 'moved' }
  | { kind: 'missing' };

export type DeleteResult =
  | { kind: 'deleted' }
  | { kind: 'active' }
  /** Its stop is still being recorded or followed up. */
  | { kind: 'stopping'; incidentId: string }
  /** Stopped by another incident each time it was read (three times): a stop in progress. */
  | { kind: 'moved' }
  | { kind: 'missing' };

/** A fan-out's fence found its incident recorded already (by another run of the fan-out). */
export class IncidentNotOpen extends Error {
  constructor(readonly incidentId: string) {
    super(`Incident ${incidentId} is no longer open`);
  }
}

/**
 * How long after its fence a stop's incident may still be unwritten: its request may still be
 * opening it, or the sweeper may yet open it from the stop's record. A minute on, neither will.
 */
export const UNWRITTEN_INCIDENT_MS = 60_000;

/**
 * Agents per fence script: Redis runs each whole, so this bounds how long other agents'
 * heartbeats wait behind a bulk stop (250: 1–4 ms each, under 10 ms on a slow day, where 500
 * took up to 14 ms).
 */
export const FENCE_BATCH = 250;

/** Leases marked per script: each takes well under a millisecond, however many an agent has. */
const LEASE_MARK_BATCH = 500;

@Injectable()
export class RevocationRepository {
  private readonly keys: Keys;
  private readonly unconfirmed: Confirmations;

  constructor(private readonly redis: RedisService) {
    this.keys = redis.keys;
    this.unconfirmed = new Confirmations(redis.client, redis.keys.revocationUnconfirmed(), {
      evenIfFull: true,
    });
    defineScript(redis.client, 'ksFenceAgents', script('fence-agents'));
    defineScript(redis.client, 'ksMarkLeases', script('mark-leases'));
    defineScript(redis.client, 'ksReinstateAgent', script('reinstate-agent'));
    defineScript(redis.client, 'ksDeleteAgent', script('delete-agent'));
  }

  /**
   * Fences one agent for a caller who may have to own it, writing `intent` to the sweeper's
   * list first, on the same connection: Redis runs the two in that order, so an agent is never
   * fenced by this call without a record from which its incident and follow-up can be rebuilt.
   * Answers the fence's result, and whether the record was written.
   *
   * @param owner - the owner the agent must have ('' when the caller may stop any agent)
   */
  async fenceOne(
    agentId: string,
    fence: { reason: string; revokedBy: string; incidentId: string; owner: string },
    intent: { member: string; dueAt: number },
  ): Promise<{ result: FenceResult | { kind: 'forbidden' }; recorded: boolean }> {
    const marked = this.markUnconfirmed(intent.member, intent.dueAt);
    const fenced = this.fenceBatch([agentId], fence.reason, fence.revokedBy, fence.incidentId, {
      publish: true,
      owner: fence.owner,
    });
    const [recorded, reply] = await Promise.all([marked, fenced]);
    return { result: reply[0], recorded };
  }

  /**
   * Records a stop for the sweeper, due at `dueAt`; answers whether it was written. Sent at
   * once, so that commands issued after it on this connection (the incident, the fence) run
   * after it. Its failure fails nothing: without the record a crash is not recovered, but the
   * agents stay stopped (fail closed), and the call does not answer before their follow-up is
   * queued.
   */
  markUnconfirmed(member: string, dueAt: number): Promise<boolean> {
    return this.unconfirmed.mark(member, dueAt).then(
      () => true,
      () => false,
    );
  }

  /** Removes a stop's record once its incident and follow-up exist. */
  confirm(member: string): Promise<void> {
    return this.unconfirmed.confirm(member);
  }

  /** Single revocations whose incident or follow-up may have been lost to a crash. */
  dueUnconfirmed(now: number, count: number): Promise<string[]> {
    return this.unconfirmed.due(now, count);
  }

  /**
   * Fences many agents, {@link FENCE_BATCH} per script, all batches sent at once: Redis runs
   * them back to back, a few microseconds per agent, and the client encodes a few commands
   * rather than one per agent.
   *
   * @param publish - raise `agent.updated` from the script and answer each agent's owner (small
   *   revocations); bulk ones raise it from their follow-up jobs instead.
   * @param whileOpen - a fan-out: fence only while the incident is `open`, else throw
   *   {@link IncidentNotOpen} (a batch or more may have been fenced before)
   */
  async fenceMany(
    agentIds: string[],
    reason: string,
    revokedBy: string,
    incidentId: string,
    publish: boolean,
    whileOpen = false,
  ): Promise<Map<string, FenceResult>> {
    const batches: string[][] = [];
    for (let i = 0; i < agentIds.length; i += FENCE_BATCH) {
      batches.push(agentIds.slice(i, i + FENCE_BATCH));
    }
    const replies = await Promise.all(
      batches.map((batch) =>
        this.fenceBatch(batch, reason, revokedBy, incidentId, {
          publish,
          owner: '',
          whileOpen,
        }),
      ),
    );
    const results = new Map<string, FenceResult>();
    replies.forEach((reply, b) => {
      reply.forEach((result, index) => {
        if (result.kind !== 'forbidden') {
          results.set(batches[b][index], result);
        }
      });
    });
    return results;
  }

  private async fenceBatch(
    agentIds: string[],
    reason: string,
    revokedBy: string,
    incidentId: string,
    options: { publish: boolean; owner: string; whileOpen?: boolean },
  ): Promise<(FenceResult | { kind: 'forbidden' })[]> {
    const keys = agentIds.map((agentId) => this.keys.agent(agentId));
    if (options.whileOpen) {
      keys.push(this.keys.incident(incidentId));
    }
    const [revokedAt, tokens, ...details] = await runScript<string[]>(
      this.redis.client,
      'ksFenceAgents',
      keys,
      [
        reason,
        revokedBy,
        incidentId,
        this.keys.events(),
        options.publish ? '1' : '0',
        options.owner,
        options.whileOpen ? '1' : '0',
      ],
    );
    if (revokedAt === 'closed') {
      throw new IncidentNotOpen(incidentId);
    }
    return tokens.split(' ').map((token) => parseFence(token, Number(revokedAt), details));
  }

  /**
   * Marks, for the record, the leases the agent held under the revoked epoch (the fence made
   * them dead already). Returns how many were marked.
   */
  async markLeases(
    agentId: string,
    revokedEpoch: number,
    revokedAt: number,
    reason: string,
    incidentId: string,
    batchSize = LEASE_MARK_BATCH,
  ): Promise<number> {
    let marked = 0;
    // Passes until one marks nothing: a lease issued meanwhile (after a reinstatement) drops
    // forgotten ones from the set, which shifts the positions a pass walks by.
    for (let pass = -1; pass !== 0;) {
      pass = 0;
      for (let from = 0; from >= 0;) {
        const [count, next] = await runScript<[number, number]>(
          this.redis.client,
          'ksMarkLeases',
          [this.keys.agentLeases(agentId)],
          [
            this.keys.lease(agentId, ''),
            revokedEpoch,
            revokedAt,
            reason,
            incidentId,
            from,
            batchSize,
          ],
        );
        pass += count;
        from = next;
      }
      marked += pass;
    }
    return marked;
  }

  /** Tells live feeds an agent changed (bulk revocations, from their follow-up). */
  async publishAgentUpdated(agentId: string): Promise<void> {
    await this.redis.client.publish(
      this.keys.events(),
      JSON.stringify({ event: 'agent.updated', agentId }),
    );
  }

  /**
   * Reinstates a revoked agent, unless the stop that revoked it is still being recorded
   * (`recording`: its incident is `open`, or not written yet), and puts `entry` (given its time
   * and outcome there) on that stop's timeline in the same step.
   */
  async reinstate(
    agentId: string,
    reason: string,
    by: string,
    entry: Omit<StoredEntry, 'at' | 'outcome'>,
  ): Promise<ReinstateResult> {
    const reply = await this.againstItsStop(agentId, (incidentId) =>
      runScript<string[]>(
        this.redis.client,
        'ksReinstateAgent',
        [
          this.keys.agent(agentId),
          this.keys.incident(incidentId),
          this.keys.incidentTimeline(incidentId),
        ],
        [reason, by, this.keys.events(), incidentId, UNWRITTEN_INCIDENT_MS, JSON.stringify(entry)],
      ),
    );
    switch (reply[0]) {
      case 'active':
        return {
          kind: 'active',
          epoch: Number(reply[1]),
          reinstatedAt: Number(reply[2]),
          incidentId: reply[3] || undefined,
        };
      case 'not_revoked':
        return { kind: 'not_revoked', epoch: Number(reply[1]) };
      case 'recording':
        return { kind: 'recording', incidentId: reply[1] };
      case 'moved':
        return { kind: 'moved' };
      default:
        return { kind: 'missing' };
    }
  }

  /**
   * Deletes a revoked agent's record and its lease index, only once its stop is over (the
   * caller then drops it from the agents' indexes).
   *
   * @param readIncidentId - the agent's `incidentId` as the caller just read it ('' if none),
   *   which saves reading it again
   */
  async deleteAgent(agentId: string, readIncidentId?: string): Promise<DeleteResult> {
    const reply = await this.againstItsStop(
      agentId,
      (incidentId) =>
        runScript<string[]>(
          this.redis.client,
          'ksDeleteAgent',
          [
            this.keys.agent(agentId),
            this.keys.agentLeases(agentId),
            this.keys.incident(incidentId),
          ],
          [incidentId, UNWRITTEN_INCIDENT_MS],
        ),
      readIncidentId,
    );
    switch (reply[0]) {
      case 'deleted':
      case 'active':
      case 'moved':
        return { kind: reply[0] };
      case 'stopping':
        return { kind: 'stopping', incidentId: reply[1] };
      default:
        return { kind: 'missing' };
    }
  }

  /**
   * Runs a script that checks an agent's stop (stop-state.lua) with the incident it names. The
   * script must be told which incident's key to check: the caller's own read of it if it has
   * one, else it is read here; a stop landing between the read and the script (`moved`) is
   * rare, and one more read settles it.
   */
  private async againstItsStop(
    agentId: string,
    run: (incidentId: string) => Promise<string[]>,
    readIncidentId?: string,
  ): Promise<string[]> {
    let reply: string[] = ['moved'];
    let guess = readIncidentId;
    for (let attempt = 0; attempt < 3 && reply[0] === 'moved'; attempt++) {
      const incidentId =
        guess ?? (await this.redis.client.hget(this.keys.agent(agentId), 'incidentId')) ?? '';
      guess = undefined;
      reply = await run(incidentId);
    }
    return reply;
  }
}

/** One agent's token in a fence script's reply (see fence-agents.lua). */
function parseFence(
  token: string,
  revokedAt: number,
  details: string[],
): FenceResult | { kind: 'forbidden' } {
  switch (token[0]) {
    case 'r': {
      const colon = token.indexOf(':');
      return colon < 0
        ? { kind: 'revoked', epoch: Number(token.slice(1)), revokedAt, owner: '' }
        : {
            kind: 'revoked',
            epoch: Number(token.slice(1, colon)),
            revokedAt,
            owner: token.slice(colon + 1),
          };
    }
    case 'a': {
      const detail = details[Number(token.slice(1)) - 1] ?? '';
      // The reason comes last: it may itself contain '|'.
      const [epoch, before, owner, incident] = detail.split('|', 4);
      return {
        kind: 'already',
        epoch: Number(epoch),
        revokedAt: Number(before),
        owner,
        incidentId: incident || undefined,
        reason: detail.split('|').slice(4).join('|'),
      };
    }
    case 'f':
      return { kind: 'forbidden' };
    default:
      return { kind: 'missing' };
  }
}
