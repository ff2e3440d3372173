import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Action,
  ActionsRepository,
  ActionsService,
  ActionStatus,
  ActionType,
  ActionTypesService,
  ExecutionError,
  ExecutorRegistry,
  lastRunEnd,
  LedgerEntry,
} from '@app/actions';
import { AgentsService } from '@app/agents';
import { AppConfig } from '@app/config';
import {
  FencedAgent,
  FollowupCounts,
  IncidentSummary,
  IncidentsRepository,
  isoMs,
  FollowupSteps,
  StepEntry,
  StoredEntry,
  SYSTEM_ACTOR,
} from '@app/incidents';
import { AgentNotifier } from '@app/realtime';
import {
  fencedBy,
  FenceResult,
  IncidentNotOpen,
  ownersOf,
  RevocationRepository,
} from './revocation.repository';
import { RevocationJob, RevocationQueue } from './revocation.queue';
import { alreadyRevokedNote, isSmallStop } from './revocation.service';
import {
  ABORTED_MID_WAY,
  Catalog,
  failedCompensation,
  needsReview,
  reviewOf,
  windowOf,
} from './review';

// How long the abort step waits for a running action to stop before listing it for review.
const ABORT_WAIT_MS = 15_000;

/**
 * What follows a fence, as durable jobs: every step can run again after a crash and ends in
 * the same state (counts are kept by Lua scripts; compensations are claimed before they are
 * sent, so none is ever sent twice).
 */
@Injectable()
export class FollowupService {
  private readonly logger = new Logger(FollowupService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly incidents: IncidentsRepository,
    private readonly revocations: RevocationRepository,
    private readonly queue: RevocationQueue,
    private readonly agents: AgentsService,
    private readonly actions: ActionsService,
    private readonly ledger: ActionsRepository,
    private readonly types: ActionTypesService,
    private readonly executors: ExecutorRegistry,
    private readonly notifier: AgentNotifier,
  ) {}

  /** Fan-out: makes sure every selected agent is fenced, then queues one job per agent. */
  async followIncident(incidentId: string): Promise<void> {
    let read = await this.incidents.forFollowup(incidentId);
    if (!read || read.incident.status === 'open') {
      // Its call may be alive after all: taken over, the incident is no longer its to discard
      // or record, and it stays `open` (no reinstatement) until this records it.
      const claim = await this.incidents.takeOver(incidentId);
      if (claim === 'discarded') {
        this.logger.log({ incidentId }, 'Nothing to follow: its call fenced nothing');
        return;
      }
      if (claim === 'missing') {
        throw notWrittenYet(incidentId);
      }
      // Written, or recorded by its call, since the first read: what follows goes by this one.
      read = await this.incidents.forFollowup(incidentId);
      if (!read) {
        throw notWrittenYet(incidentId);
      }
    }
    const { incident, selected } = read;
    // Past the point where its call could discard it. Listed when it was opened, by a write
    // beside the incident's that may have failed (the call then failed, and the sweeper queued
    // this).
    await this.incidents.index(incidentId, Date.parse(incident.openedAt));
    const ours = incident.status === 'open' ? await this.fenceFor(incident, selected) : undefined;
    if (ours?.length === 0) {
      return;
    }
    // Recorded by the call, or by another run of this fan-out: queue exactly those (idempotent),
    // without fencing again, since an agent may have been reinstated since; its follow-up still
    // halts and rolls back what it did under the revoked epoch. Nothing recorded: it fenced
    // nothing.
    await this.queue.followAgents(
      incidentId,
      ours ?? (await this.incidents.fencedAgents(incidentId)) ?? [],
    );
  }

  /**
   * The call that opened an incident died (or seemed to) before recording what it fenced:
   * fences its agents now and records them (those it did fence come back as ours, with the
   * epoch they were revoked at). Undefined if another run recorded it first.
   */
  private async fenceFor(
    incident: IncidentSummary,
    selected: number,
  ): Promise<FencedAgent[] | undefined> {
    const agentIds = await this.incidents.agentIds(incident.id);
    // Same rule as the call: for a small stop the fence tells the agents (the script publishes
    // agent.updated, and lease.revoked is pushed below), whichever of the two fences one first.
    const tells = isSmallStop(selected);
    let results: Map<string, FenceResult>;
    try {
      results = await this.revocations.fenceMany(
        agentIds,
        incident.reason,
        incident.openedBy.userId,
        incident.id,
        tells,
        true,
      );
    } catch (error) {
      if (error instanceof IncidentNotOpen) {
        return undefined;
      }
      throw error;
    }
    if (tells) {
      // Those this fence stopped (the call died before it could); the call told its own.
      for (const [agentId, result] of results) {
        if (result.kind === 'revoked') {
          this.notifier.leaseRevoked({
            agentId,
            reason: incident.reason,
            revokedAt: isoMs(result.revokedAt),
            incidentId: incident.id,
          });
        }
      }
    }
    const { existing, ours, earlier, missing } = fencedBy(results, incident.id);
    const [recorded] = await Promise.all([
      this.incidents.setFenced(incident.id, existing, ours, {
        by: 'fan-out',
        dropMissing: existing.length < agentIds.length,
        // Its call did not record it (it died, or was too slow): this says what the stop fenced,
        // at the time the last of them was fenced (by the call, or by this).
        entry:
          ours.length > 0
            ? entry('fence', `${ours.length} ${ours.length === 1 ? 'agent' : 'agents'} fenced`, {
                at: ours.reduce((latest, a) => Math.max(latest, a.revokedAt), 0) || Date.now(),
                detail:
                  'recorded by the follow-up: the request that opened it did not record it (it ' +
                  'ended, or was too slow)' +
                  alreadyRevokedNote(earlier.length) +
                  (missing.length ? `; ${missing.length} not found` : ''),
              })
            : entry('follow-up', 'nothing to do', {
                detail:
                  missing.length === agentIds.length
                    ? 'none of the selected agents exists any more'
                    : 'every selected agent was already revoked',
              }),
      }),
      this.incidents.indexForOwners(incident.id, Date.parse(incident.openedAt), ownersOf(results)),
    ]);
    return recorded ? ours : undefined;
  }

  /**
   * Follow-up of one fenced agent: tell it, halt, abort, roll back, report. It acts only on
   * what the agent did under the revoked epoch and before: an agent reinstated meanwhile is not
   * told to stop, and its work under the new epoch is left alone. `resumed`: an earlier run of
   * this follow-up started and did not finish. `closing`: aborted when this process shuts down;
   * the follow-up then ends between two steps (a compensation is never cut mid-way) with
   * {@link ShuttingDown}, and its job is retried at once by another worker.
   */
  async followAgent(
    incidentId: string,
    agentId: string,
    revokedEpoch: number,
    resumed = false,
    closing?: AbortSignal,
  ): Promise<void> {
    const read = await this.incidents.forFollowup(incidentId);
    if (!read) {
      throw notWrittenYet(incidentId);
    }
    const { incident, selected } = read;
    // Only a missing agent is skipped; a Redis error fails the job, which is retried.
    const [agent] = await this.agents.findMany([agentId]);
    if (agent) {
      await Promise.all([
        this.incidents.indexForOwners(incidentId, Date.parse(incident.openedAt), [agent.owner]),
        this.revocations.markLeases(
          agentId,
          revokedEpoch,
          Date.parse(agent.revokedAt ?? incident.openedAt),
          incident.reason,
          incidentId,
        ),
      ]);
    }
    // Small revocations pushed and published inline already (by their call, or by the fan-out
    // that fenced for it); a bulk one does it from here, to an agent it still holds stopped.
    const stillStopped = agent?.status === 'revoked' && agent.incidentId === incidentId;
    if (stillStopped && !isSmallStop(selected)) {
      await this.revocations.publishAgentUpdated(agentId);
      this.notifier.leaseRevoked({
        agentId,
        reason: incident.reason,
        revokedAt: agent.revokedAt ?? incident.openedAt,
        incidentId,
      });
    }

    if (resumed) {
      // First, so that what an earlier run did comes before what this one does.
      await this.recordMissed(incidentId, agentId, await this.ledgerUpTo(agentId, revokedEpoch));
    }
    await this.actions.haltQueued(
      agentId,
      `agent revoked (${incidentId})`,
      incidentId,
      revokedEpoch,
    );
    // Not only what this halted: the count takes in actions of the revoked epoch halted at
    // their start since the fence (start-action.lua), which no other step records.
    const haltsRecorded = await this.recordHalts(
      incidentId,
      agentId,
      await this.ledger.followupCounts(agentId, incidentId),
    );

    const stillRunning = await this.abortRunning(incidentId, agentId, revokedEpoch, closing);
    // Read once, and again only if a rollback changed it.
    const catalog = this.catalog();
    let recent = await this.ledgerUpTo(agentId, revokedEpoch);
    if (
      await this.rollBack(
        incident,
        windowOf(incident.rollback, recent, revokedEpoch),
        catalog,
        closing,
      )
    ) {
      recent = await this.ledgerUpTo(agentId, revokedEpoch);
    }

    const counts = await this.ledger.followupCounts(agentId, incidentId);
    if (counts.halted > haltsRecorded) {
      // Halted at their start while this ran: on the timeline before the report counts them.
      await this.recordHalts(incidentId, agentId, counts);
    }
    const review = await needsReview(
      incident,
      recent,
      revokedEpoch,
      catalog,
      stillRunning.map((a) => ({
        agentId: a.agentId,
        actionId: a.id,
        type: a.type,
        why: `still running ${ABORT_WAIT_MS / 1000} s after the abort`,
      })),
    );
    const { done, total, status } = await this.incidents.reportAgent(
      incidentId,
      agentId,
      counts,
      review,
    );
    this.logger.log(
      { incidentId, agentId, ...counts, review: review.length, done, total, status },
      'Agent followed up',
    );
  }

  /**
   * A follow-up job used up its retries: say so on the incident rather than leave it waiting.
   * An agent's follow-up is reported with what it did and a review item, so the incident can
   * still finish; a fan-out that failed is recorded on the timeline.
   */
  async gaveUp(job: RevocationJob, error: string): Promise<void> {
    if ((await this.incidents.status(job.incidentId)) === undefined) {
      // Never written, or discarded by a call that fenced nothing: writing a count or an entry
      // would leave a fragment of an incident that nothing shows.
      this.logger.warn({ ...job, error }, 'A follow-up gave up on an incident that does not exist');
      return;
    }
    if (job.kind === 'incident') {
      // Its agents may be fenced (the call answered only once they were) with nothing queued to
      // halt, abort or roll back; or, if its call died before fencing, some not fenced at all.
      await this.incidents.giveUp(
        job.incidentId,
        `the follow-up gave up after its retries (${error}) and may not have reached every ` +
          'agent: revoke them again to make sure each one is stopped, then check their actions ' +
          'by hand',
        entry('follow-up', 'failed', { detail: `the fan-out gave up: ${error}` }),
      );
      return;
    }
    const counts = await this.ledger.followupCounts(job.agentId, job.incidentId);
    await this.incidents.reportAgent(job.incidentId, job.agentId, counts, [
      {
        agentId: job.agentId,
        why: `follow-up gave up after its retries (${error}): check this agent's actions by hand`,
      },
    ]);
    // After the report, which lets the incident finish whatever this meets; a failure here
    // fails the give-up, which is tried again (the report is then a no-op).
    await this.recordMissed(
      job.incidentId,
      job.agentId,
      await this.ledgerUpTo(job.agentId, job.revokedEpoch),
    );
  }

  /**
   * Records a step of an agent's follow-up on its incident: the entries, what it found for
   * review, and the agent's counts so far, so that the incident moves while the follow-up runs.
   */
  private async step(incidentId: string, agentId: string, steps: FollowupSteps): Promise<void> {
    if (!steps.halts && !steps.entries?.length) {
      return;
    }
    const counts = await this.ledger.followupCounts(agentId, incidentId);
    await this.incidents.agentProgress(incidentId, agentId, counts, steps);
  }

  /**
   * Puts the agent's halts for this stop on the timeline, those not there yet (by the
   * follow-up's halt, or at an action's start), with `counts`, the agent's counts so far;
   * answers how many halts they had (none: nothing written).
   */
  private async recordHalts(
    incidentId: string,
    agentId: string,
    counts: FollowupCounts,
  ): Promise<number> {
    if (counts.halted > 0) {
      await this.incidents.agentProgress(incidentId, agentId, counts, {
        halts: haltEntry(agentId),
      });
    }
    return counts.halted;
  }

  /**
   * A follow-up that died (or failed) between a step's ledger write and its timeline entry
   * finds nothing left to do for that step when it runs again, and would record nothing.
   * Resumed (or giving up), it records from the ledger every step done so far; those on the
   * timeline already are not added again.
   */
  private async recordMissed(
    incidentId: string,
    agentId: string,
    recent: LedgerEntry[],
  ): Promise<void> {
    const { counts, abortsAsked } = await this.ledger.followupRecord(agentId, incidentId);
    const entries: StepEntry[] = [];
    for (const id of abortsAsked) {
      // With its history (`recent` has none): how it ended, not what it became since.
      const action = await this.ledger.get(id);
      const ended = action && lastRunEnd(action);
      if (action && ended) {
        entries.push(abortStep(action, ended, true));
      }
    }
    // Newest first, as they were rolled back.
    for (const action of recent) {
      if (
        action.rollbackIncident === incidentId &&
        (action.status === 'rolled_back' || action.status === 'rollback_failed')
      ) {
        entries.push(rollbackStep(action, action.status, action.rollbackDetail ?? '', true));
      }
    }
    const halts = counts.halted > 0 ? haltEntry(agentId, true) : undefined;
    if (!halts && entries.length === 0) {
      return;
    }
    const added = await this.incidents.agentProgress(incidentId, agentId, counts, {
      halts,
      entries,
    });
    if (added > 0) {
      this.logger.warn(
        { incidentId, agentId, added },
        'Recorded follow-up steps that an interrupted run had done but not recorded',
      );
    }
  }

  /**
   * The agent's ledger as a stop sees it, newest first: the revoked epoch and before (what the
   * agent did after a reinstatement is not this stop's). Lean: without the actions' params,
   * results, undo and history, which the stop does not read (undo: see rollBack).
   */
  private async ledgerUpTo(agentId: string, revokedEpoch: number): Promise<LedgerEntry[]> {
    const page = await this.ledger.ledger(agentId, this.config.actionRetentionPerAgent);
    return page.filter((action) => action.epoch <= revokedEpoch);
  }

  private catalog(): Catalog {
    const read = new Map<string, Promise<ActionType | undefined>>();
    return (type) => {
      let definition = read.get(type);
      if (!definition) {
        definition = this.types.find(type);
        read.set(type, definition);
      }
      return definition;
    };
  }

  /**
   * Aborts the agent's running actions of the revoked epoch (or before) wherever they run;
   * answers those that did not stop.
   */
  private async abortRunning(
    incidentId: string,
    agentId: string,
    revokedEpoch: number,
    closing?: AbortSignal,
  ): Promise<Action[]> {
    const released = await this.ledger.releasedIds(agentId);
    const running: Action[] = [];
    for (const id of released) {
      const action = await this.ledger.get(id);
      // Retrying ones were halted with the queue (halt-queued.lua): only running ones remain.
      if (action?.status === 'running' && action.epoch <= revokedEpoch) {
        running.push(action);
        await this.actions.abort(agentId, id, incidentId);
      }
    }
    if (running.length === 0) {
      return [];
    }
    const deadline = Date.now() + ABORT_WAIT_MS;
    let pending = running;
    while (pending.length > 0 && Date.now() < deadline) {
      // Waiting may take 15 s, longer than a shutdown may: another worker waits instead.
      throwIfClosing(closing);
      await sleep(100);
      const states = await Promise.all(pending.map((a) => this.ledger.get(a.id)));
      const stopped = states.filter((a): a is Action => a !== undefined && a.status !== 'running');
      await this.step(incidentId, agentId, {
        entries: stopped.map((a) => abortStep(a, a.status)),
        // As needsReview lists them: those of the epoch this stop revoked.
        review: stopped
          .filter((a) => a.status === 'aborted' && a.epoch === revokedEpoch)
          .map((a) => reviewOf(a, ABORTED_MID_WAY)),
      });
      const stoppedIds = new Set(stopped.map((a) => a.id));
      pending = pending.filter((a) => !stoppedIds.has(a.id));
    }
    return pending;
  }

  /**
   * Runs the compensations of the agent's reversible succeeded actions in the window, newest
   * first; answers whether it touched any.
   */
  private async rollBack(
    incident: IncidentSummary,
    window: LedgerEntry[],
    catalog: Catalog,
    closing?: AbortSignal,
  ): Promise<boolean> {
    let touched = false;
    for (const action of window) {
      if (action.status !== 'succeeded') {
        continue;
      }
      // Before the claim: a compensation cut by the shutdown's deadline could not be known to
      // have applied, and would be listed for review instead of done by another worker.
      throwIfClosing(closing);
      const type = await catalog(action.type);
      if (!type?.reversible || !type.compensation) {
        continue;
      }
      touched = true;
      // Read before the claim (once claimed, a failed read would leave it "interrupted"), and
      // for each action: an admin who mends a compensation's executor mid-incident reaches the
      // rest of a long rollback. The undo comes with the claim, one action at a time, not with
      // the ledger (see ledgerUpTo).
      const compensation = await this.types.find(type.compensation);
      const claim = await this.ledger.claimRollback(action.agentId, action.id, incident.id);
      if (claim.kind === 'not_eligible' || claim.kind === 'elsewhere') {
        // Ended, or being compensated by an earlier stop's follow-up, which settles it.
        continue;
      }
      if (claim.kind === 'interrupted') {
        await this.settle(
          incident.id,
          action,
          'rollback_failed',
          'an earlier attempt was interrupted mid-compensation; it may or may not have been applied',
        );
        continue;
      }
      const outcome = await this.compensate(action, claim.undo, type.compensation, compensation);
      await this.settle(
        incident.id,
        action,
        outcome.ok ? 'rolled_back' : 'rollback_failed',
        outcome.ok
          ? `undone by ${type.compensation}`
          : `${type.compensation} failed: ${outcome.error}`,
      );
    }
    return touched;
  }

  private async compensate(
    action: LedgerEntry,
    undo: unknown,
    compensationType: string,
    compensation: ActionType | undefined,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    if (!compensation) {
      return { ok: false, error: `compensation type ${compensationType} is not in the catalog` };
    }
    let error = '';
    for (let attempt = 1; attempt <= this.config.actionMaxAttempts; attempt++) {
      try {
        await this.executors.execute(compensation.executor, {
          actionId: `${action.id}.undo`,
          agentId: action.agentId,
          type: compensationType,
          params: undo ?? {},
          attempt,
          compensates: action.id,
          signal: new AbortController().signal,
        });
        return { ok: true };
      } catch (failure) {
        error = failure instanceof Error ? failure.message : String(failure);
        // Not retryable (the tool server answered 2xx, but not JSON): it may have applied the
        // undo, and a compensation is sent at most once.
        if (failure instanceof ExecutionError && !failure.retryable) {
          break;
        }
        if (attempt < this.config.actionMaxAttempts) {
          await sleep(this.config.actionBackoffMs * 2 ** (attempt - 1));
        }
      }
    }
    return { ok: false, error };
  }

  private async settle(
    incidentId: string,
    action: LedgerEntry,
    status: 'rolled_back' | 'rollback_failed',
    detail: string,
  ): Promise<void> {
    const settled = await this.ledger.settleRollback(
      action.agentId,
      action.id,
      incidentId,
      status,
      detail,
    );
    if (settled) {
      await this.step(incidentId, action.agentId, {
        entries: [rollbackStep(action, status, detail)],
        review: status === 'rollback_failed' ? [reviewOf(action, failedCompensation(detail))] : [],
      });
    }
  }
}

function entry(step: string, outcome: string, extra: Partial<StoredEntry> = {}): StoredEntry {
  return { at: Date.now(), actor: SYSTEM_ACTOR, step, outcome, ...extra };
}

// Said of an entry a resumed follow-up recorded after the step it records (FollowupService's
// recordMissed): its time is when it was recorded, not when the step was done.
const RECORDED_LATE = 'recorded after its follow-up resumed';

/**
 * The entry for the agent's halts not on the timeline yet: the incident's script says how many
 * (agent-progress.lua), from the agent's count of halts, which covers those made at an action's
 * start as well.
 */
function haltEntry(agentId: string, late = false): Omit<StoredEntry, 'outcome'> {
  const halt = { at: Date.now(), actor: SYSTEM_ACTOR, step: 'halt', agentId };
  return late ? { ...halt, detail: RECORDED_LATE } : halt;
}

/** How an action this follow-up asked to abort ended (`ended`: the status it ended its run in). */
function abortStep(action: LedgerEntry, ended: ActionStatus, late = false): StepEntry {
  return {
    key: `a:${action.id}`,
    entry: entry('abort', ended === 'aborted' ? 'aborted' : `ended as ${ended}`, {
      agentId: action.agentId,
      actionId: action.id,
      detail: late ? `${action.type} (${RECORDED_LATE})` : action.type,
    }),
  };
}

function rollbackStep(
  action: LedgerEntry,
  status: 'rolled_back' | 'rollback_failed',
  detail: string,
  late = false,
): StepEntry {
  return {
    key: `r:${action.id}`,
    entry: entry('rollback', status === 'rolled_back' ? 'rolled back' : 'rollback failed', {
      agentId: action.agentId,
      actionId: action.id,
      detail: `${action.type}: ${detail}${late ? ` (${RECORDED_LATE})` : ''}`,
    }),
  };
}

/** A follow-up that ended early because its process is shutting down: its job runs again. */
export class ShuttingDown extends Error {
  constructor() {
    super('Its worker is shutting down; another worker goes on with it');
    this.name = 'ShuttingDown';
  }
}

function throwIfClosing(closing: AbortSignal | undefined): void {
  if (closing?.aborted) {
    throw new ShuttingDown();
  }
}

/**
 * A single stop writes its incident and queues its agent's job at the same time: the job can
 * be first. It is retried with backoff until the incident is there.
 */
function notWrittenYet(incidentId: string): Error {
  return new Error(`Incident ${incidentId} is not written yet`);
}
