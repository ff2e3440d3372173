import { Injectable, Logger } from '@nestjs/common';
import { AgentsService, canSeeAll } from '@app/agents';
import { conflict, forbidden, notFound } from '@app/core';
import type { UserPrincipal } from '@app/auth';
import { ActionsService } from '@app/actions';
import { AgentNotifier } from '@app/realtime';
import { RevocationRepository } from './revocation.repository';

export interface RevokeResult {
  agentId: string;
  status: 'revoked';
  epoch: number;
  revokedAt: string;
  reason: string;
  alreadyRevoked: boolean;
}

export interface ReinstateResult {
  agentId: string;
  status: 'active';
  epoch: number;
  reinstatedAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

@Injectable()
export class RevocationService {
  private readonly logger = new Logger(RevocationService.name);

  constructor(
    private readonly agents: AgentsService,
    private readonly revocations: RevocationRepository,
    private readonly notifier: AgentNotifier,
    private readonly actions: ActionsService,
  ) {}

  /**
   * Stops one agent: its owner, responders and admins may. Answers once the fence is written;
   * telling the agent follows from it.
   */
  async revoke(principal: UserPrincipal, agentId: string, reason: string): Promise<RevokeResult> {
    const agent = await this.agents.find(agentId);
    if (!canSeeAll(principal) && agent.owner !== principal.userId) {
      throw forbidden(`Only the owner of agent ${agentId}, responders and admins may revoke it`);
    }
    const fenced = await this.revocations.fence(agentId, reason, principal.userId, '');
    switch (fenced.kind) {
      case 'missing':
        throw notFound(`Agent ${agentId}`);
      case 'already':
        return {
          agentId,
          status: 'revoked',
          epoch: fenced.epoch,
          revokedAt: iso(fenced.revokedAt),
          reason: fenced.reason,
          alreadyRevoked: true,
        };
      case 'revoked': {
        const revokedAt = iso(fenced.revokedAt);
        this.logger.log({ agentId, by: principal.userId, epoch: fenced.epoch }, 'Agent fenced');
        this.tellAgent(agentId, reason, revokedAt);
        this.haltQueued(agentId);
        return {
          agentId,
          status: 'revoked',
          epoch: fenced.epoch,
          revokedAt,
          reason,
          alreadyRevoked: false,
        };
      }
    }
  }

  /** Lets a revoked agent act again under a new epoch. Callers must be admins. */
  async reinstate(
    principal: UserPrincipal,
    agentId: string,
    reason: string,
  ): Promise<ReinstateResult> {
    const result = await this.revocations.reinstate(agentId, reason, principal.userId);
    switch (result.kind) {
      case 'missing':
        throw notFound(`Agent ${agentId}`);
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
          reinstatedAt: iso(result.reinstatedAt),
        };
    }
  }

  // Follow-up work: the fence already stops every queued action at job start; halting them
  // here only settles their ledger status early.
  private haltQueued(agentId: string): void {
    this.actions.haltQueued(agentId).catch((error: unknown) => {
      this.logger.warn({ agentId, err: error }, 'Could not halt queued actions');
    });
  }

  // The fence already holds; a lost push only delays when the agent hears of it (its next
  // heartbeat answers "revoked"), so a failure here is logged, not thrown.
  private tellAgent(agentId: string, reason: string, revokedAt: string): void {
    try {
      this.notifier.leaseRevoked({ agentId, reason, revokedAt });
    } catch (error) {
      this.logger.warn({ agentId, err: error }, 'Could not push lease.revoked');
    }
  }
}
