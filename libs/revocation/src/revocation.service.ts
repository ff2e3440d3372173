import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AgentsService, canSeeAll } from '@app/agents';
import type { UserPrincipal } from '@app/auth';
import { badRequest, conflict, DomainError, forbidden, notFound, runEvery } from '@app/core';
import {
  actorName,
  FencedAgent,
  IncidentOpening,
  IncidentsRepository,
  isoMs,
  newIncidentId,
  Origin,
  RollbackPolicy,
  StoredEntry,
  SYSTEM_ACTOR,
} from '@app/incidents';
import { outageAwareWarning, redisUnavailableReason } from '@app/redis';
import { AgentNotifier } from '@app/realtime';
import { fencedBy, FencedBy, ownersOf, RevocationRepository } from './revocation.repository';
import { RevocationQueue } from './revocation.queue';
import { describeSelector, Selector } from './selector';

export interface RevokeRequest {
  selector: Selector;
  reason: string;
  rollback?: RollbackPolicy;
  dryRun?: boolean;
  /** Where the stop came from; defaults to the principal's interface. */
  origin?: Origin;
  /**
   * The incident to open, chosen by the caller (a phone's stop), so that a resend of the same
   * request can tell whether the first landed; a new one by default.
   */
  incidentId?: string;
}

export interface RevocationAnswer {
  incidentId: string;
  revokedAt: string;
  /** How many selected agents are now fenced (newly or already). */
  agents: number;
  agentIds: string[];
  alreadyRevokedIds: string[];
  missingIds: string[];
}

export interface DryRunAnswer {
  dryRun: true;
  /** How many selected agents exist (those already revoked included, as in a real answer). */
  agents: number;
  /** How many of them the stop would fence: those not revoked already. */
  wouldRevoke: number;
  agentIds: string[];
  /** Selected agents a stop would leave as they are: revoked already. */
  alreadyRevokedIds: string[];
  missingIds: string[];
}

export interface ReinstateResult {
  agentId: string;
  status: 'active';
  epoch: number;
  reinstatedAt: string;
}

/**
 * A stop of up to 100 ids is small: its call tells its agents itself (`lease.revoked`, and
 * `agent.updated` from its fence script), which is what makes a single stop reach the agent in
 * milliseconds, and queues each agent's follow-up before it answers. A larger one answers as
 * soon as its agents are fenced, and leaves telling them and queueing their follow-up to one
 * fan-out job. Decided by the ids selected, which the incident keeps (`selected`), so that its
 * fan-out and follow-up decide the same.
 */
export const isSmallStop = (selected: number) => selected <= 100;
// A revocation whose follow-up is not queued this long after it began is finished by the
// sweeper: the window a crash between the fence and the follow-up can leave.
const CONFIRM_WITHIN_MS = 5000;
const SWEEP_EVERY_MS = 2000;

/** An incident's opening with its first timeline entry (who asked, from where). */
type Opening = IncidentOpening & { request: StoredEntry };

@Injectable()
export class RevocationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RevocationService.name);
  private sweeper?: { stop(): Promise<void> };

  constructor(
    private readonly agents: AgentsService,
    private readonly revocations: RevocationRepository,
    private readonly incidents: IncidentsRepository,
    private readonly queue: RevocationQueue,
    private readonly notifier: AgentNotifier,
  ) {}

  /**
   * Stops the selected agents. Answers once every one of them is fenced: revoked and epoch
   * bumped, in one atomic write each. Halting, aborting and rolling back follow as durable
   * jobs of the incident this opens.
   */
  async revoke(
    principal: UserPrincipal,
    request: RevokeRequest,
  ): Promise<RevocationAnswer | DryRunAnswer> {
    const agentIds = await this.select(principal, request.selector, !request.dryRun);
    if (request.dryRun) {
      return this.dryRun(agentIds);
    }
    if (agentIds.length === 0) {
      throw new DomainError(
        'not_found',
        `No agent matches the selector (${describeSelector(request.selector)})`,
      );
    }
    const opening = this.opening(principal, agentIds, request);
    // On one connection, in this order: a record for the sweeper, the incident, the fences.
    // Redis runs them in that order without the call waiting between them, and if this process
    // dies before the follow-up is queued, the sweeper queues it (the fan-out fences whatever
    // the call did not).
    const record = JSON.stringify({ incidentId: opening.id });
    const [recorded, , results] = await Promise.all([
      this.revocations.markUnconfirmed(record, opening.openedAt + CONFIRM_WITHIN_MS),
      this.incidents.create({ ...opening, timeline: [opening.request] }),
      this.revocations.fenceMany(
        agentIds,
        request.reason,
        principal.userId,
        opening.id,
        isSmallStop(agentIds.length),
      ),
    ]);
    // The timeline's fence step says when the fences were done, even if recorded after the answer.
    const fencedAt = Date.now();
    const fenced = fencedBy(results, opening.id);
    const { ours } = fenced;
    // Pushed before anything else: the agent's own stop signal is the latency that matters.
    if (isSmallStop(agentIds.length)) {
      for (const { agentId, revokedAt } of ours) {
        this.notifier.leaseRevoked({
          agentId,
          reason: request.reason,
          revokedAt: isoMs(revokedAt),
          incidentId: opening.id,
        });
      }
    }
    const answer = summarize(opening.id, fenced);
    if (ours.length === 0) {
      return this.nothingFenced(opening, record, answer);
    }
    if (!isSmallStop(agentIds.length) && recorded) {
      // A bulk call answers as soon as its agents are fenced. Recording them and queueing their
      // follow-up take a few more milliseconds, after the answer is sent; if this process dies
      // first, the sweeper does both from the record (without one, the call waits for them).
      setImmediate(() => {
        this.follow(opening, ours, answer, record, fencedAt, ownersOf(results), true).catch(
          (error: unknown) =>
            this.logger.error(
              { err: error, incidentId: opening.id },
              'Could not queue the follow-up of a revocation: the sweeper will',
            ),
        );
      });
    } else {
      try {
        await this.follow(opening, ours, answer, record, fencedAt, ownersOf(results), recorded);
      } catch (error) {
        if (!recorded) {
          // Its agents are fenced, and without a record no sweeper would ever follow them up:
          // written now, due at once (Redis may be back), else the incident waits for an admin.
          if (!(await this.revocations.markUnconfirmed(record, Date.now()))) {
            this.logger.error(
              { incidentId: opening.id },
              'A revocation fenced its agents but neither queued their follow-up nor left a ' +
                'record for the sweeper: its incident waits until an admin resolves it ' +
                '(force: true)',
            );
          }
        }
        throw error;
      }
    }
    return answer;
  }

  /**
   * A bulk stop that fenced nothing: every agent it selected was revoked already, or none
   * exists. Like a repeated single stop, it is a no-op: the incident it opened (before it could
   * know) is removed, and the answer names the incident of the latest earlier revocation.
   * Unless this call was so slow that the sweeper took it for dead and a fan-out took its
   * incident over: the fan-out then finishes that incident, and the answer names it.
   */
  private async nothingFenced(
    opening: Opening,
    record: string,
    answer: RevocationAnswer,
  ): Promise<RevocationAnswer> {
    const discarded = await this.incidents.discard(opening.id, opening.openedAt);
    this.confirmLater(record, opening.id);
    if (!discarded) {
      return { ...answer, incidentId: opening.id };
    }
    if (answer.agentIds.length === 0) {
      // Deleted between the check in revoke() and the fence.
      throw noneExists(answer.missingIds);
    }
    this.logger.log(
      {
        by: opening.openedBy.userId,
        agents: answer.agents,
        incidentId: answer.incidentId,
        via: opening.openedFrom.via,
      },
      'Revocation changed nothing: every selected agent was revoked already',
    );
    // Phones that took the stop for a new incident read the one it names instead.
    this.incidents
      .announce(answer.incidentId)
      .catch((error: unknown) =>
        this.logger.warn({ err: error, incidentId: answer.incidentId }, 'Could not announce'),
      );
    return answer;
  }

  /**
   * After a revocation fenced `ours` (at least one): records them and queues their follow-up.
   *
   * @param recorded - the sweeper holds the stop's record: a follow-up that cannot be queued now
   *   is queued by the sweeper, and the call still answers (see followupWaits)
   */
  private async follow(
    opening: Opening,
    ours: FencedAgent[],
    answer: RevocationAnswer,
    record: string,
    fencedAt: number,
    owners: string[],
    recorded: boolean,
  ): Promise<void> {
    // Recorded before the fan-out is queued, so that it queues exactly these agents' follow-up
    // without fencing them again (one reinstated meanwhile would be stopped a second time).
    const [setFenced] = await Promise.all([
      this.incidents.setFenced(opening.id, answer.agentIds, ours, {
        by: 'call',
        dropMissing: answer.missingIds.length > 0,
        entry: fenceEntry(opening, ours.length, answer, fencedAt),
      }),
      this.incidents.indexForOwners(opening.id, opening.openedAt, owners),
    ]);
    if (!setFenced) {
      // This call was so slow that the sweeper took it for dead: the fan-out it queued fences,
      // records and follows up the incident.
      this.logger.warn(
        { incidentId: opening.id },
        'A fan-out took this revocation over before it was recorded; the fan-out follows it up',
      );
    } else {
      try {
        await (isSmallStop(opening.agentIds.length)
          ? // Small: the call queues each agent's follow-up itself.
            this.queue.followAgents(opening.id, ours)
          : // Large: one fan-out job queues them, off the call's path.
            this.queue.followIncident(opening.id));
      } catch (error) {
        if (!recorded) {
          throw error;
        }
        await this.followupWaits(opening.id, error);
        return;
      }
    }
    this.confirmLater(record, opening.id);
    this.logger.log(
      {
        incidentId: opening.id,
        by: opening.openedBy.userId,
        agents: answer.agents,
        via: opening.openedFrom.via,
      },
      'Revocation fenced',
    );
  }

  /**
   * One agent (`POST /v1/agents/:id/revoke`, a phone's stop): the fence is the first write,
   * so it is visible one round trip after the caller is authenticated. Revoking an agent that
   * is already revoked changes nothing and answers with the incident that revoked it.
   */
  async revokeOne(
    principal: UserPrincipal,
    agentId: string,
    reason: string,
    options: Pick<RevokeRequest, 'rollback' | 'origin' | 'incidentId'> = {},
  ) {
    const opening = this.opening(principal, [agentId], {
      selector: { agentIds: [agentId] },
      reason,
      ...options,
    });
    // Written just before the fence (see fenceOne): if this process dies before the incident
    // and its follow-up exist, the sweeper opens them from this record.
    const intent = JSON.stringify({ agentId, opening });
    const { result, recorded } = await this.revocations.fenceOne(
      agentId,
      {
        reason,
        revokedBy: principal.userId,
        incidentId: opening.id,
        owner: canSeeAll(principal) ? '' : principal.userId,
      },
      { member: intent, dueAt: opening.openedAt + CONFIRM_WITHIN_MS },
    );
    if (result.kind === 'missing' || result.kind === 'forbidden') {
      await this.revocations.confirm(intent);
      throw result.kind === 'missing'
        ? notFound(`Agent ${agentId}`)
        : forbidden(`Only the owner of agent ${agentId}, responders and admins may revoke it`);
    }
    if (result.kind === 'already' && result.incidentId !== opening.id) {
      await this.revocations.confirm(intent);
      return singleAnswer(agentId, result.incidentId ?? '', result, result.reason, true);
    }
    this.notifier.leaseRevoked({
      agentId,
      reason,
      revokedAt: isoMs(result.revokedAt),
      incidentId: opening.id,
    });
    // The owner may read the incident as soon as the call returns.
    // The agent is fenced: its follow-up is queued directly, not through a fan-out that would
    // fence it again (after a reinstatement, that would stop it a second time).
    const fenced = [{ agentId, revokedEpoch: result.epoch - 1 }];
    const [created, queued] = await Promise.allSettled([
      this.incidents.create({
        ...opening,
        timeline: [opening.request, fenceEntry(opening, 1)],
        owners: [result.owner],
        fenced,
      }),
      this.queue.followAgents(opening.id, fenced),
    ]);
    if (created.status === 'rejected') {
      throw created.reason;
    }
    if (queued.status === 'fulfilled') {
      this.confirmLater(intent, opening.id);
    } else if (recorded) {
      await this.followupWaits(opening.id, queued.reason);
    } else {
      throw queued.reason;
    }
    this.logger.log(
      { incidentId: opening.id, by: principal.userId, agents: 1, via: opening.openedFrom.via },
      'Revocation fenced',
    );
    return singleAnswer(agentId, opening.id, result, reason, false);
  }

  onApplicationBootstrap(): void {
    this.sweeper = runEvery(
      SWEEP_EVERY_MS,
      () => this.sweep(),
      outageAwareWarning(this.logger, 'Revocation sweep failed'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper?.stop();
  }

  /**
   * Finishes revocations whose request died before their follow-up was queued. A single stop's
   * record holds what opens its incident: if the agent was fenced, the incident is opened
   * (once, whoever gets there first). Either way, an incident still `open` gets its follow-up
   * (idempotent: job id = incident id). Safe on every instance. Returns how many records it
   * looked at.
   */
  async sweep(now = Date.now()): Promise<number> {
    const due = await this.revocations.dueUnconfirmed(now, 100);
    for (const member of due) {
      const record = parseRecord(member);
      if (!record) {
        this.logger.warn({ member }, 'Dropped an unreadable revocation record');
      } else if ('opening' in record) {
        await this.finishSingle(record.agentId, record.opening);
      } else if (isFollowing(await this.incidents.relist(record.incidentId))) {
        await this.queue.followIncident(record.incidentId);
        this.logger.warn(
          { incidentId: record.incidentId },
          'Queued the follow-up of a revocation whose request did not queue it',
        );
      }
      await this.revocations.confirm(member);
    }
    return due.length;
  }

  private async finishSingle(agentId: string, opening: Opening): Promise<void> {
    // Listed again if it exists: by a write beside the incident's, which may be what failed.
    const status = await this.incidents.relist(opening.id);
    // Opened by its call, which may have died before queueing the follow-up: queued again
    // (idempotent) from what the incident recorded, even if the agent was reinstated since.
    const recorded = status && (await this.incidents.fencedAgents(opening.id));
    if (recorded) {
      if (isFollowing(status)) {
        await this.queue.followAgents(opening.id, recorded);
        this.logger.warn(
          { agentId, incidentId: opening.id },
          'Queued the follow-up of a revocation whose request did not queue it',
        );
      }
      return;
    }
    // No incident yet (its call died before writing it), or one opened before incidents kept
    // their fenced epochs: the agent says whether this stop fenced it.
    const [agent] = await this.agents.findMany([agentId]);
    if (agent?.incidentId !== opening.id) {
      return; // never fenced by this stop
    }
    if (!status) {
      await this.incidents.create({
        fenced: [{ agentId, revokedEpoch: agent.epoch - 1 }],
        ...opening,
        timeline: [
          opening.request,
          {
            ...fenceEntry(opening, 1),
            actor: SYSTEM_ACTOR,
            detail: 'the request that fenced the agent ended before opening its incident',
          },
        ],
        owners: [agent.owner],
      });
    }
    if (!status || isFollowing(status)) {
      await this.queue.followAgents(opening.id, [{ agentId, revokedEpoch: agent.epoch - 1 }]);
      this.logger.warn(
        { agentId, incidentId: opening.id },
        'Opened the incident and follow-up of a revocation whose request did not finish',
      );
    }
  }

  /**
   * Deletes an agent once it is stopped and its stop followed up: deleting one before would
   * skip the follow-up's halts, rollbacks and report (and a sweep after a crash would take the
   * stop for one that never fenced). Checked in the same Redis step as the delete. The owner or
   * an admin.
   */
  async deleteAgent(principal: UserPrincipal, agentId: string) {
    const agent = await this.agents.getManaged(principal, agentId);
    const result = await this.revocations.deleteAgent(agentId, agent.incidentId ?? '');
    switch (result.kind) {
      case 'missing':
        throw notFound(`Agent ${agentId}`);
      case 'active':
        throw conflict(
          `Agent ${agentId} is active: revoke it first (POST /v1/agents/${agentId}/revoke), ` +
            'which halts its queued actions, aborts the running one and rolls back what it did',
        );
      case 'stopping':
        throw conflict(
          `Agent ${agentId} is being stopped (incident ${result.incidentId}): delete it once ` +
            'that incident is done',
        );
      case 'moved':
        throw conflict(`Agent ${agentId} is being stopped again right now: delete it later`);
      case 'deleted':
        break;
    }
    await this.agents.unindex(agent);
    return { id: agentId, deleted: true as const };
  }

  /** Lets a revoked agent act again under a new epoch. Callers must be admins. */
  async reinstate(
    principal: UserPrincipal,
    agentId: string,
    reason: string,
  ): Promise<ReinstateResult> {
    // Until its stop has recorded what it fenced, a sweep after a crash would fence the agent
    // again (and the incident would not know it was reinstated): a few seconds at most.
    const result = await this.revocations.reinstate(agentId, reason, principal.userId, {
      actor: actorName(principal),
      via: principal.via,
      step: 'reinstate',
      detail: reason,
      agentId,
    });
    switch (result.kind) {
      case 'missing':
        throw notFound(`Agent ${agentId}`);
      case 'moved':
        throw conflict(`Agent ${agentId} is being stopped again right now: reinstate it later`);
      case 'recording':
        throw conflict(
          `Agent ${agentId}'s stop is still being recorded (incident ${result.incidentId}): ` +
            'reinstate it in a few seconds',
        );
      case 'not_revoked':
        throw conflict(`Agent ${agentId} is not revoked`);
      case 'active':
        this.logger.log(
          { agentId, by: principal.userId, epoch: result.epoch, reason },
          'Agent reinstated',
        );
        return {
          agentId,
          status: 'active',
          epoch: result.epoch,
          reinstatedAt: isoMs(result.reinstatedAt),
        };
    }
  }

  /**
   * A stop fenced its agents and opened its incident, and the sweeper holds its record, but its
   * follow-up could not be queued: Redis out of memory lets a stop's own writes through and
   * refuses the queue's. The fence holds, so the call still answers; the sweeper queues the
   * follow-up as soon as Redis takes it, and the timeline says why nothing follows until then.
   */
  private async followupWaits(incidentId: string, error: unknown): Promise<void> {
    // Redis' reasons end in what a refused call does ("; refusing to act ..."): not this one.
    const why = redisUnavailableReason(error)?.split(';')[0] ?? 'an unexpected error (logged)';
    this.logger.warn(
      { err: error, incidentId },
      'A revocation fenced its agents but could not queue their follow-up: the sweeper will',
    );
    await this.incidents
      .note(incidentId, {
        at: Date.now(),
        actor: SYSTEM_ACTOR,
        step: 'follow-up',
        outcome: 'waiting',
        detail:
          `the agents are stopped, but halting, aborting and rolling back could not be queued: ` +
          `${why}. killswitch queues them as soon as Redis takes them`,
      })
      .catch((noted: unknown) =>
        this.logger.warn({ err: noted, incidentId }, 'Could not note the waiting follow-up'),
      );
  }

  /**
   * Clears a stop's record once its incident and follow-up exist. Not awaited: the answer does
   * not depend on it, and a record left behind only makes the sweeper check an incident that
   * is already followed.
   */
  private confirmLater(record: string, incidentId: string): void {
    this.revocations
      .confirm(record)
      .catch((error: unknown) =>
        this.logger.warn({ err: error, incidentId }, 'Could not clear a revocation record'),
      );
  }

  private opening(principal: UserPrincipal, agentIds: string[], request: RevokeRequest): Opening {
    const openedAt = Date.now();
    const origin = request.origin ?? { via: principal.via };
    return {
      id: request.incidentId ?? newIncidentId(),
      reason: request.reason,
      openedBy: { userId: principal.userId, name: principal.name, role: principal.role },
      openedFrom: origin,
      openedAt,
      rollback: request.rollback ?? 'epoch',
      agentIds,
      request: {
        at: openedAt,
        actor: actorName(principal),
        via: viaOf(origin),
        step: 'revoke',
        outcome: 'requested',
        detail: `${describeSelector(request.selector)}: ${request.reason}`,
      },
    };
  }

  /** What a stop of these agents would do, read without writing anything. */
  private async dryRun(selected: string[]): Promise<DryRunAnswer> {
    const agents = await this.agents.findMany(selected);
    const answer: DryRunAnswer = {
      dryRun: true,
      agents: 0,
      wouldRevoke: 0,
      agentIds: [],
      alreadyRevokedIds: [],
      missingIds: [],
    };
    agents.forEach((agent, i) => {
      if (!agent) {
        answer.missingIds.push(selected[i]);
        return;
      }
      answer.agentIds.push(agent.id);
      if (agent.status === 'revoked') {
        answer.alreadyRevokedIds.push(agent.id);
      }
    });
    answer.agents = answer.agentIds.length;
    answer.wouldRevoke = answer.agents - answer.alreadyRevokedIds.length;
    return answer;
  }

  /**
   * Resolves a selector to agent ids, enforcing who may stop what. For a stop (not a dry run),
   * listed ids of which none exists are refused here, before anything is written: the incident
   * the fences need would be opened only to be discarded.
   */
  private async select(
    principal: UserPrincipal,
    selector: Selector,
    forStop: boolean,
  ): Promise<string[]> {
    const all = canSeeAll(principal);
    if ('agentIds' in selector) {
      const ids = [...new Set(selector.agentIds)];
      if (ids.length === 0) {
        throw badRequest('selector.agentIds must list at least one agent');
      }
      if (!all) {
        // One pipelined read for all of them; unknown ids are reported as missing later.
        const agents = await this.agents.findMany(ids);
        const foreign = agents.find((agent) => agent && agent.owner !== principal.userId);
        if (foreign) {
          throw forbidden(`Agent ${foreign.id} belongs to another owner`);
        }
        if (forStop && agents.every((agent) => !agent)) {
          throw noneExists(ids);
        }
      } else if (forStop && !(await this.agents.anyExists(ids))) {
        throw noneExists(ids);
      }
      return ids;
    }
    if ('owner' in selector) {
      if (!all && selector.owner !== principal.userId) {
        throw forbidden('Owners may stop only their own agents');
      }
      return this.agents.idsOwnedBy(selector.owner);
    }
    if (!all) {
      throw forbidden('Only responders and admins may revoke by label or revoke everything');
    }
    if ('labels' in selector) {
      return this.agents.idsWithLabels(Object.entries(selector.labels));
    }
    return this.agents.allIds();
  }
}

/**
 * The answer to a stop: the agents it selected, and when they were fenced; when every one was
 * revoked before, when the last of them was, and by which incident.
 */
function summarize(incidentId: string, fenced: FencedBy): RevocationAnswer {
  const revokedAt = fenced.ours.reduce((latest, agent) => Math.max(latest, agent.revokedAt), 0);
  const { latestEarlier } = fenced;
  return {
    incidentId: revokedAt ? incidentId : latestEarlier.incidentId,
    revokedAt: isoMs(revokedAt || latestEarlier.revokedAt || Date.now()),
    agents: fenced.existing.length,
    agentIds: fenced.existing,
    alreadyRevokedIds: fenced.earlier,
    missingIds: fenced.missing,
  };
}

/** Whether an incident's follow-up may still have to be queued (queueing it is idempotent). */
const isFollowing = (status: string | undefined) => status === 'open' || status === 'following_up';

/** A record of `revocation:unconfirmed`: a single stop's opening, or a bulk stop's incident. */
type StopRecord = { agentId: string; opening: Opening } | { incidentId: string };

function parseRecord(member: string): StopRecord | undefined {
  try {
    const record = JSON.parse(member) as Partial<{
      agentId: unknown;
      opening: Partial<Opening>;
      incidentId: unknown;
    }>;
    if (typeof record.agentId === 'string' && typeof record.opening?.id === 'string') {
      return record as StopRecord;
    }
    return typeof record.incidentId === 'string' ? { incidentId: record.incidentId } : undefined;
  } catch {
    return undefined;
  }
}

/** The answer to a single-agent revocation (`POST /v1/agents/:id/revoke`). */
function singleAnswer(
  agentId: string,
  incidentId: string,
  fenced: { epoch: number; revokedAt: number },
  reason: string,
  alreadyRevoked: boolean,
) {
  return {
    incidentId,
    revokedAt: isoMs(fenced.revokedAt),
    agents: 1,
    agentIds: [agentId],
    alreadyRevokedIds: alreadyRevoked ? [agentId] : [],
    missingIds: [],
    agentId,
    status: 'revoked' as const,
    epoch: fenced.epoch,
    reason,
    alreadyRevoked,
  };
}

/** What a fence entry's detail says of selected agents an earlier stop had revoked ('' for none). */
export function alreadyRevokedNote(count: number): string {
  return count ? `; ${count} ${count === 1 ? 'was' : 'were'} already revoked` : '';
}

/** The timeline's "fence" step: how many agents this call fenced, and how long it took. */
function fenceEntry(
  opening: Opening,
  fenced: number,
  answer?: RevocationAnswer,
  at = Date.now(),
): StoredEntry {
  const already = answer?.alreadyRevokedIds.length ?? 0;
  const missing = answer?.missingIds.length ?? 0;
  return {
    at,
    actor: actorName(opening.openedBy),
    via: viaOf(opening.openedFrom),
    step: 'fence',
    outcome: `${fenced} ${fenced === 1 ? 'agent' : 'agents'} fenced`,
    detail:
      `in ${at - opening.openedAt} ms` +
      alreadyRevokedNote(already) +
      (missing ? `; ${missing} not found` : ''),
  };
}

/** Where a stop came from, as its timeline says it: the interface, and the device by name. */
function viaOf(origin: Origin): string {
  return origin.deviceName ? `${origin.via}: ${origin.deviceName}` : origin.via;
}

function noneExists(missingIds: string[]): DomainError {
  return new DomainError(
    'not_found',
    `None of the selected agents exists: ${missingIds.slice(0, 5).join(', ')}` +
      (missingIds.length > 5 ? ` and ${missingIds.length - 5} more` : ''),
    { missingIds },
  );
}
