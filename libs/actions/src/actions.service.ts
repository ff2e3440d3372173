import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AgentsService, canSeeAll } from '@app/agents';
import type { Principal } from '@app/auth';
import { DomainError, forbidden, notFound, runEvery } from '@app/core';
import { outageAwareWarning } from '@app/redis';
import { leaseRevoked } from '@app/leases';
import { Action, agentOfAction, newActionId } from './action';
import { ActionTypesService } from './action-types.service';
import { ActionsQueue } from './actions.queue';
import { ActionsRepository } from './actions.repository';

export interface SubmitAction {
  type: string;
  params?: unknown;
  idempotencyKey?: string;
}

// A submission whose queue job is not confirmed this long after it began is re-released by
// the sweeper: the window a crash between the ledger write and the queue add can leave.
const CONFIRM_WITHIN_MS = 5000;
const SWEEP_EVERY_MS = 2000;

@Injectable()
export class ActionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ActionsService.name);
  private sweeper?: { stop(): Promise<void> };

  constructor(
    private readonly actions: ActionsRepository,
    private readonly types: ActionTypesService,
    private readonly agents: AgentsService,
    private readonly queue: ActionsQueue,
  ) {}

  /** An agent asks killswitch to act; queued in its own order behind its earlier actions. */
  async submit(principal: Principal, input: SubmitAction): Promise<{ id: string; status: string }> {
    if (principal.kind !== 'agent') {
      throw forbidden('Actions are submitted by agents, with their lease token');
    }
    const { agentId, epoch } = principal;
    const actionId = newActionId(agentId);
    // Sent together: the catalog check and the sweeper's safety mark (see sweep()). The
    // agent's allowedActions are checked by the submit script itself.
    try {
      await Promise.all([
        this.types.require(input.type),
        this.actions.markUnconfirmed(agentId, actionId, Date.now() + CONFIRM_WITHIN_MS),
      ]);
    } catch (error) {
      await this.actions.confirm(agentId, actionId).catch(() => undefined);
      throw error;
    }
    const result = await this.actions.submit({
      agentId,
      actionId,
      epoch,
      type: input.type,
      params: JSON.stringify(input.params ?? {}),
      idempotencyKey: input.idempotencyKey,
    });
    if (result.kind === 'ok') {
      await this.queue.release(agentId, result.released);
    }
    // Released (or refused, or answered by an earlier submission): nothing left to sweep.
    await this.actions.confirm(agentId, actionId);
    switch (result.kind) {
      case 'revoked':
        throw leaseRevoked(result);
      case 'invalid':
        throw new DomainError('lease_invalid', 'The agent no longer exists', { status: 'invalid' });
      case 'forbidden':
        throw forbidden(`Agent ${agentId} is not allowed to perform ${input.type}`);
      case 'full':
        throw new DomainError(
          'rate_limited',
          `Agent ${agentId} has ${result.live} actions queued or running, the most allowed ` +
            `(ACTION_MAX_QUEUED_PER_AGENT is ${result.max}): submit ` +
            'more once some have finished',
        );
      case 'existing':
        return { id: result.actionId, status: result.status };
      case 'ok':
        return { id: actionId, status: 'queued' };
    }
  }

  /**
   * Halts every queued action of a fenced agent up to the epoch `incidentId` revoked, released
   * ones not yet started included, in batches that keep each Redis call short, counting them on
   * `incidentId`. If the agent was reinstated meanwhile, its newer actions stay queued (and are
   * released into the room this makes), or, stopped again, are left to that stop.
   */
  async haltQueued(
    agentId: string,
    detail: string,
    incidentId: string,
    revokedEpoch: number,
  ): Promise<number> {
    let total = 0;
    for (;;) {
      const { halted, examined, released } = await this.actions.haltQueuedBatch(
        agentId,
        200,
        detail,
        incidentId,
        revokedEpoch,
      );
      await this.queue.release(agentId, released);
      total += halted;
      if (examined < 200 || halted === 0) {
        return total;
      }
    }
  }

  /**
   * Tells every worker process to abort this action of `agentId` if it runs there; the abort is
   * counted on `incidentId`, the stop that asked for it, whose follow-up record keeps the ask.
   */
  async abort(agentId: string, actionId: string, incidentId: string): Promise<void> {
    await this.actions.requestAbort(agentId, actionId, incidentId);
  }

  /** Reads an action: the agent itself, its owner, responders and admins may. */
  async get(principal: Principal, actionId: string): Promise<Action> {
    const agentId = agentOfAction(actionId);
    const action = agentId ? await this.actions.get(actionId) : undefined;
    if (!action) {
      throw notFound(`Action ${actionId}`);
    }
    await this.authorizeRead(principal, action.agentId);
    return action;
  }

  async list(
    principal: Principal,
    agentId: string,
    cursor: number | undefined,
    limit: number,
  ): Promise<{ items: Action[]; nextCursor: string | null }> {
    await this.authorizeRead(principal, agentId);
    const items = await this.actions.page(agentId, cursor, limit);
    // Responders and admins read any agent's actions, a deleted one's too: an empty first page
    // of an agent that does not exist is a wrong id, not an agent that did nothing.
    if (
      items.length === 0 &&
      cursor === undefined &&
      principal.kind !== 'agent' &&
      canSeeAll(principal)
    ) {
      const [agent] = await this.agents.findMany([agentId]);
      if (!agent) {
        throw notFound(`Agent ${agentId}`);
      }
    }
    const last = items[items.length - 1];
    // A full page is the last one when nothing is older: no cursor to an empty page.
    const more =
      items.length === limit &&
      last !== undefined &&
      (await this.actions.hasBefore(agentId, last.seq));
    return { items, nextCursor: more ? String(last.seq) : null };
  }

  private async authorizeRead(principal: Principal, agentId: string): Promise<void> {
    if (principal.kind === 'agent') {
      if (principal.agentId !== agentId) {
        throw forbidden('An agent may read only its own actions');
      }
      return;
    }
    if (canSeeAll(principal)) {
      return;
    }
    const [agent] = await this.agents.findMany([agentId]);
    if (!agent) {
      // Its actions outlive a deleted agent, and with it the record of who owned it.
      throw new DomainError(
        'not_found',
        `Agent ${agentId} not found: if it was deleted, its actions are kept, and responders ` +
          'and admins may read them',
      );
    }
    if (agent.owner !== principal.userId) {
      throw forbidden(`Agent ${agentId} belongs to another owner`);
    }
  }

  onApplicationBootstrap(): void {
    this.sweeper = runEvery(
      SWEEP_EVERY_MS,
      () => this.sweep(),
      outageAwareWarning(this.logger, 'Gate sweep failed'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper?.stop();
  }

  /**
   * An action job failed for good without ending what it ran: its worker stopped (died, or hung
   * past its lock) more than its stalls allow, or Redis failed its last attempt. Its action, and
   * any further down its chain that it left running, would hold the agent's queue forever: they
   * are failed (they may have partly happened), and what they release is queued. An action the
   * chain released but had not started yet is queued too. Answers the ids it failed.
   *
   * @param runner - the failed job's id (see {@link ActionsRepository.start})
   */
  async settleAbandoned(
    agentId: string,
    actionId: string,
    runner: string,
    why: string,
  ): Promise<string[]> {
    const failed: string[] = [];
    const release: string[] = [];
    let frontier = [actionId];
    for (let hops = 0; frontier.length > 0 && hops < 10_000; hops++) {
      const next: string[] = [];
      for (const id of frontier) {
        const state = await this.actions.runState(agentId, id);
        if (!state.released) {
          // Ended (or halted): the chain went on from it.
          next.push(...(await this.actions.releasedBy(agentId, id)));
        } else if (state.status === 'running' ? state.runner === runner : id === actionId) {
          failed.push(id);
          release.push(...(await this.actions.finish(agentId, id, 'failed', { error: why })));
        } else if (state.status === 'queued' || state.status === 'retrying') {
          // Waiting for this chain (or its retry, which the job may not have queued before it
          // stopped): queued. If it has a job already, adding one is a no-op (job id = action
          // id) or a second job that finds it started or ended and does nothing.
          release.push(id);
        }
      }
      frontier = next;
    }
    await this.queue.release(agentId, release);
    return failed;
  }

  /**
   * Re-releases submissions whose queue add may have been lost to a crash. Adding is
   * idempotent (job id = action id), so running this on every instance is safe.
   */
  async sweep(now = Date.now()): Promise<number> {
    const due = await this.actions.dueUnconfirmed(now, 100);
    for (const { agentId, actionId } of due) {
      if (await this.actions.isReleased(agentId, actionId)) {
        await this.queue.release(agentId, [actionId]);
        this.logger.warn({ agentId, actionId }, 'Re-released an action whose queue add was lost');
      }
      await this.actions.confirm(agentId, actionId);
    }
    return due.length;
  }
}
