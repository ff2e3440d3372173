import { Injectable, Logger } from '@nestjs/common';
import { AgentsService, canSeeAll } from '@app/agents';
import type { UserPrincipal } from '@app/auth';
import { badRequest, conflict, DomainError, forbidden, notFound } from '@app/core';
import { IncidentsRepository, isoMs, newIncidentId, Origin, RollbackPolicy } from '@app/incidents';
import { AgentNotifier } from '@app/realtime';
import { FenceResult, RevocationRepository } from './revocation.repository';
import { RevocationQueue } from './revocation.queue';
import { describeSelector, Selector } from './selector';

export interface RevokeRequest {
  selector: Selector;
  reason: string;
  rollback?: RollbackPolicy;
  dryRun?: boolean;
  /** Where the stop came from; defaults to the principal's interface. */
  origin?: Origin;
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
  agents: number;
  agentIds: string[];
}

export interface ReinstateResult {
  agentId: string;
  status: 'active';
  epoch: number;
  reinstatedAt: string;
}

// Pushing to agents inline is what makes a single stop reach the agent in milliseconds; for
// bulk revocations the follow-up jobs push instead, so the call answers fast.
export const INLINE_PUSH_LIMIT = 100;

@Injectable()
export class RevocationService {
  private readonly logger = new Logger(RevocationService.name);

  constructor(
    private readonly agents: AgentsService,
    private readonly revocations: RevocationRepository,
    private readonly incidents: IncidentsRepository,
    private readonly queue: RevocationQueue,
    private readonly notifier: AgentNotifier,
  ) {}

  /**
   * Stops the selected agents. Answers once every one of them is fenced: revoked, epoch
   * bumped and leases dead, in one atomic write each. Halting, aborting and rolling back
   * follow as durable jobs of the incident this opens.
   */
  async revoke(
    principal: UserPrincipal,
    request: RevokeRequest,
  ): Promise<RevocationAnswer | DryRunAnswer> {
    const agentIds = await this.select(principal, request.selector);
    if (request.dryRun) {
      return { dryRun: true, agents: agentIds.length, agentIds };
    }
    return (await this.fence(principal, agentIds, request)).answer;
  }

  /** Opens the incident, queues its follow-up, fences, pushes: the ids are authorized. */
  private async fence(
    principal: UserPrincipal,
    agentIds: string[],
    request: RevokeRequest,
  ): Promise<{ answer: RevocationAnswer; results: Map<string, FenceResult> }> {
    if (agentIds.length === 0) {
      throw new DomainError(
        'not_found',
        `No agent matches the selector (${describeSelector(request.selector)})`,
      );
    }
    const started = Date.now();
    const incidentId = newIncidentId();
    const origin = request.origin ?? { via: principal.via };
    const actor = `${principal.name} (${principal.userId})`;
    // The incident and its follow-up job exist before the fence (so a crash mid-fence is
    // finished by the job); they are written together, in one round trip each way.
    const opening = this.incidents.create({
      id: incidentId,
      reason: request.reason,
      openedBy: { userId: principal.userId, name: principal.name, role: principal.role },
      openedFrom: origin,
      openedAt: started,
      rollback: request.rollback ?? 'epoch',
      agentIds,
      request: {
        at: started,
        actor,
        via: origin.deviceName ? `${origin.via}: ${origin.deviceName}` : origin.via,
        step: 'revoke',
        outcome: 'requested',
        detail: `${describeSelector(request.selector)}: ${request.reason}`,
      },
    });
    await Promise.all([opening, this.queue.followIncident(incidentId)]);
    const results = await this.revocations.fenceMany(
      agentIds,
      request.reason,
      principal.userId,
      incidentId,
      agentIds.length <= INLINE_PUSH_LIMIT,
    );
    // Pushed before anything else: the agent's own stop signal is the latency that matters.
    // "Ours" includes agents our follow-up job fenced first (it may start before this call's
    // fence runs), so that no push is lost to that race.
    if (results.size <= INLINE_PUSH_LIMIT) {
      for (const [agentId, result] of results) {
        if (isOurs(result, incidentId)) {
          this.push(agentId, request.reason, isoMs(result.revokedAt), incidentId);
        }
      }
    }
    const answer = this.summarize(incidentId, results);
    await this.incidents.append(incidentId, [
      {
        at: Date.now(),
        actor,
        via: origin.via,
        step: 'fence',
        outcome: `${answer.agents - answer.alreadyRevokedIds.length} agents fenced`,
        detail:
          `in ${Date.now() - started} ms` +
          (answer.alreadyRevokedIds.length
            ? `; ${answer.alreadyRevokedIds.length} were already revoked`
            : '') +
          (answer.missingIds.length ? `; ${answer.missingIds.length} not found` : ''),
      },
    ]);
    this.logger.log(
      { incidentId, by: principal.userId, agents: answer.agents, via: origin.via },
      'Revocation fenced',
    );
    return { answer, results };
  }

  /**
   * One agent (`POST /v1/agents/:id/revoke`). Revoking an agent that is already revoked changes
   * nothing and answers with the incident that revoked it.
   */
  async revokeOne(
    principal: UserPrincipal,
    agentId: string,
    reason: string,
    rollback?: RollbackPolicy,
    origin?: Origin,
  ) {
    const agent = await this.agents.find(agentId);
    if (!canSeeAll(principal) && agent.owner !== principal.userId) {
      throw forbidden(`Only the owner of agent ${agentId}, responders and admins may revoke it`);
    }
    if (agent.status === 'revoked') {
      return this.alreadyRevoked(agentId);
    }
    const { answer, results } = await this.fence(principal, [agentId], {
      selector: { agentIds: [agentId] },
      reason,
      rollback,
      origin,
    });
    const result = results.get(agentId);
    if (!result || !isOurs(result, answer.incidentId)) {
      // Lost a race with another revocation (or a deletion): answer with what is there now.
      return this.alreadyRevoked(agentId);
    }
    // The owner may read the incident as soon as the call returns (the follow-up indexes the
    // owners of bulk revocations, whose agents this call does not read).
    await this.incidents.indexForOwners(answer.incidentId, Date.parse(answer.revokedAt), [
      agent.owner,
    ]);
    return {
      ...answer,
      agentId,
      status: 'revoked' as const,
      epoch: result.epoch,
      reason,
      alreadyRevoked: false,
    };
  }

  private async alreadyRevoked(agentId: string) {
    const agent = await this.agents.find(agentId);
    return {
      incidentId: agent.incidentId ?? '',
      revokedAt: agent.revokedAt ?? '',
      agents: 1,
      agentIds: [agentId],
      alreadyRevokedIds: [agentId],
      missingIds: [],
      agentId,
      status: 'revoked' as const,
      epoch: agent.epoch,
      reason: agent.revokeReason ?? '',
      alreadyRevoked: true,
    };
  }

  /** Lets a revoked agent act again under a new epoch. Callers must be admins. */
  async reinstate(
    principal: UserPrincipal,
    agentId: string,
    reason: string,
  ): Promise<ReinstateResult> {
    const before = await this.agents.find(agentId);
    const result = await this.revocations.reinstate(agentId, reason, principal.userId);
    switch (result.kind) {
      case 'missing':
        throw notFound(`Agent ${agentId}`);
      case 'not_revoked':
        throw conflict(`Agent ${agentId} is not revoked`);
      case 'active':
        if (before.incidentId) {
          await this.incidents.append(before.incidentId, [
            {
              at: result.reinstatedAt,
              actor: `${principal.name} (${principal.userId})`,
              via: principal.via,
              step: 'reinstate',
              outcome: `agent active again at epoch ${result.epoch}`,
              detail: reason,
              agentId,
            },
          ]);
        }
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

  /** Resolves a selector to agent ids, enforcing who may stop what. */
  private async select(principal: UserPrincipal, selector: Selector): Promise<string[]> {
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

  private summarize(incidentId: string, results: Map<string, FenceResult>): RevocationAnswer {
    const agentIds: string[] = [];
    const alreadyRevokedIds: string[] = [];
    const missingIds: string[] = [];
    let revokedAt = 0;
    for (const [agentId, result] of results) {
      if (result.kind === 'missing') {
        missingIds.push(agentId);
        continue;
      }
      agentIds.push(agentId);
      if (!isOurs(result, incidentId)) {
        alreadyRevokedIds.push(agentId);
      } else {
        revokedAt = Math.max(revokedAt, result.revokedAt);
      }
    }
    return {
      incidentId,
      revokedAt: isoMs(revokedAt || Date.now()),
      agents: agentIds.length,
      agentIds,
      alreadyRevokedIds,
      missingIds,
    };
  }

  private push(agentId: string, reason: string, revokedAt: string, incidentId: string): void {
    try {
      this.notifier.leaseRevoked({ agentId, reason, revokedAt, incidentId });
    } catch (error) {
      this.logger.warn({ agentId, err: error }, 'Could not push lease.revoked');
    }
  }
}

/** Fenced by this incident: by this call, or by the incident's own follow-up job. */
function isOurs(
  result: FenceResult,
  incidentId: string,
): result is Exclude<FenceResult, { kind: 'missing' }> {
  return (
    result.kind === 'revoked' || (result.kind === 'already' && result.incidentId === incidentId)
  );
}
