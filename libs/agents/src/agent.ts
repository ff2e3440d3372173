import { randomBytes } from 'node:crypto';
import { isoMs } from '@app/core';

export type AgentStatus = 'active' | 'revoked';

/** An agent as the API shows it. */
export interface Agent {
  id: string;
  name: string;
  owner: string;
  labels: Record<string, string>;
  allowedActions: string[];
  /** How many of its actions may run at once (default ACTION_AGENT_CONCURRENCY). */
  concurrency?: number;
  status: AgentStatus;
  /** Fencing token: grows on every revocation and reinstatement. */
  epoch: number;
  createdAt: string;
  revokedAt?: string;
  revokeReason?: string;
  revokedBy?: string;
  incidentId?: string;
}

export const AGENT_ID = /^agt_[0-9a-f]{16}$/;

export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$/;
export const LABEL_VALUE = /^[A-Za-z0-9._:@-]{0,63}$/;

/** An object of `min` to `max` labels with well-formed keys and string values. */
export function isLabels(value: unknown, min = 0, max = 20): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const entries = Object.entries(value);
  return (
    entries.length >= min &&
    entries.length <= max &&
    entries.every(([k, v]) => LABEL_KEY.test(k) && typeof v === 'string' && LABEL_VALUE.test(v))
  );
}

export const newAgentId = () => `agt_${randomBytes(8).toString('hex')}`;

/** Hash fields of an agent, in the order repositories read them. */
export const AGENT_FIELDS = [
  'id',
  'name',
  'owner',
  'labels',
  'allowedActions',
  'status',
  'epoch',
  'createdAt',
  'revokedAt',
  'revokeReason',
  'revokedBy',
  'incidentId',
  'concurrency',
] as const;

export function agentFromFields(values: (string | null)[]): Agent | undefined {
  const [
    id,
    name,
    owner,
    labels,
    allowedActions,
    status,
    epoch,
    createdAt,
    revokedAt,
    revokeReason,
    revokedBy,
    incidentId,
    concurrency,
  ] = values;
  if (!id || !name || !owner || !createdAt || (status !== 'active' && status !== 'revoked')) {
    return undefined;
  }
  const agent: Agent = {
    id,
    name,
    owner,
    labels: JSON.parse(labels ?? '{}') as Record<string, string>,
    allowedActions: JSON.parse(allowedActions ?? '[]') as string[],
    status,
    epoch: Number(epoch),
    createdAt,
  };
  if (concurrency) {
    agent.concurrency = Number(concurrency);
  }
  if (status === 'revoked') {
    if (revokedAt) {
      agent.revokedAt = isoMs(Number(revokedAt));
    }
    if (revokeReason) {
      agent.revokeReason = revokeReason;
    }
    if (revokedBy) {
      agent.revokedBy = revokedBy;
    }
    if (incidentId) {
      agent.incidentId = incidentId;
    }
  }
  return agent;
}

/** The member of the listing indexes: fixed-width time first, so BYLEX order is time order. */
export function indexMember(agent: Pick<Agent, 'id' | 'createdAt'>): string {
  return `${String(Date.parse(agent.createdAt)).padStart(15, '0')}:${agent.id}`;
}

export function idFromIndexMember(member: string): string {
  return member.slice(member.indexOf(':') + 1);
}
