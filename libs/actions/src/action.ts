import { randomBytes } from 'node:crypto';
import { isoMs } from '@app/core';

/**
 * The ledger's statuses. `awaiting_approval` and `denied` are reserved for approvals;
 * `rolled_back` and `rollback_failed` are set by the revocation engine.
 */
export const ACTION_STATUSES = [
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'halted',
  'aborted',
  'rolled_back',
  'rollback_failed',
  'awaiting_approval',
  'denied',
] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

export interface HistoryEntry {
  status: ActionStatus;
  at: string;
  detail?: string;
}

export interface Action {
  id: string;
  agentId: string;
  type: string;
  params: unknown;
  status: ActionStatus;
  epoch: number;
  seq: number;
  attempts: number;
  submittedAt: string;
  startedAt?: string;
  finishedAt?: string;
  idempotencyKey?: string;
  result?: unknown;
  undo?: unknown;
  error?: string;
  /** The incident that rolled (or tried to roll) this action back. */
  rollbackIncident?: string;
  rollbackDetail?: string;
  history: HistoryEntry[];
}

/**
 * An action as a stop's follow-up reads its agent's whole ledger: without what may be large
 * (params, result, undo: up to a megabyte an action) or long (history).
 */
export type LedgerEntry = Omit<Action, 'params' | 'result' | 'undo' | 'history'>;

/** An action as a list shows it: no params, results or history. */
export interface ActionSummary {
  id: string;
  agentId: string;
  type: string;
  status: ActionStatus;
  submittedAt: string;
  /** When its status last changed. */
  updatedAt?: string;
}

/**
 * The status an action's last run ended in, from its history (read with it); undefined while it
 * runs. Not always its status now: one that succeeded may have been rolled back since, and one
 * that ended `retrying` halted at its next start.
 */
export function lastRunEnd(action: Action): ActionStatus | undefined {
  const statuses = action.history.map((change) => change.status);
  const lastRun = statuses.lastIndexOf('running');
  if (lastRun < 0) {
    return action.status === 'running' ? undefined : action.status;
  }
  return statuses[lastRun + 1];
}

/** Action ids carry their agent's id, so one lookup finds the agent's slot. */
export const ACTION_ID = /^act_([0-9a-f]{16})_[0-9a-f]{16}$/;

export const newActionId = (agentId: string) =>
  `act_${agentId.slice(4)}_${randomBytes(8).toString('hex')}`;

export function agentOfAction(actionId: string): string | undefined {
  const match = ACTION_ID.exec(actionId);
  return match ? `agt_${match[1]}` : undefined;
}

export const ACTION_FIELDS = [
  'id',
  'agentId',
  'type',
  'params',
  'status',
  'epoch',
  'seq',
  'attempts',
  'submittedAt',
  'startedAt',
  'finishedAt',
  'idempotencyKey',
  'result',
  'undo',
  'error',
  'rollbackClaim',
  'rollbackDetail',
] as const;

const iso = (ms: string | null) => (ms ? isoMs(Number(ms)) : undefined);
const json = (text: string | null): unknown => (text ? JSON.parse(text) : undefined);

export function actionFromFields(fields: (string | null)[], history: string[]): Action | undefined {
  const [
    id,
    agentId,
    type,
    params,
    status,
    epoch,
    seq,
    attempts,
    submittedAt,
    startedAt,
    finishedAt,
    idempotencyKey,
    result,
    undo,
    error,
    rollbackClaim,
    rollbackDetail,
  ] = fields;
  if (!id || !agentId || !type || !status || !submittedAt) {
    return undefined;
  }
  const action: Action = {
    id,
    agentId,
    type,
    params: json(params),
    status: status as ActionStatus,
    epoch: Number(epoch),
    seq: Number(seq),
    attempts: Number(attempts),
    submittedAt: iso(submittedAt) ?? '',
    history: history.map((line) => {
      const entry = JSON.parse(line) as { status: ActionStatus; at: number; detail?: string };
      return { ...entry, at: new Date(entry.at).toISOString() };
    }),
  };
  const optional: Partial<Action> = {
    startedAt: iso(startedAt),
    finishedAt: iso(finishedAt),
    idempotencyKey: idempotencyKey || undefined,
    result: json(result),
    undo: json(undo),
    error: error || undefined,
    rollbackIncident: rollbackClaim || undefined,
    rollbackDetail: rollbackDetail || undefined,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) {
      (action as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return action;
}
