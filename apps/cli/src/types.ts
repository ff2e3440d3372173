/** What the killswitch API answers, as far as the CLI reads it. */

export type IncidentStatus = 'open' | 'following_up' | 'done' | 'resolved';

/** Statuses during which follow-up work (halt, abort, roll back) is still running. */
export const ACTIVE_STATUSES: readonly IncidentStatus[] = ['open', 'following_up'];

export interface IncidentCounts {
  fenced: number;
  halted: number;
  aborted: number;
  rolledBack: number;
  needsReview: number;
}

export interface NeedsReview {
  agentId: string;
  actionId?: string;
  type?: string;
  why: string;
}

export interface TimelineEntry {
  at: string;
  actor: string;
  via?: string;
  step: string;
  outcome: string;
  detail?: string;
  agentId?: string;
  actionId?: string;
}

export interface Incident {
  id: string;
  status: IncidentStatus;
  reason: string;
  openedBy: { userId: string; name: string; role: string };
  openedFrom: { via: string; deviceId?: string; deviceName?: string };
  openedAt: string;
  agents: number;
  agentIds: string[];
  counts: IncidentCounts;
  progress: { done: number; total: number };
  needsReview: NeedsReview[];
  timeline: TimelineEntry[];
  /** What the revocation rolls back. */
  rollback?: Rollback;
  doneAt?: string;
  resolvedAt?: string;
  resolvedBy?: string | { userId: string; name: string; role: string };
  note?: string;
}

export interface Agent {
  id: string;
  name: string;
  owner: string;
  labels: Record<string, string>;
  allowedActions: string[];
  status: 'active' | 'revoked';
  epoch: number;
  createdAt: string;
  revokedAt?: string;
  revokeReason?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Which agents a bulk revocation covers (exactly one key). */
export type Selector =
  { agentIds: string[] } | { labels: Record<string, string> } | { owner: string } | { all: true };

/** What happens to the reversible actions the agents already did. */
export type Rollback = 'none' | 'epoch' | { since: string };

export interface DryRunAnswer {
  dryRun: true;
  agents: number;
  agentIds: string[];
}

/**
 * A revocation's answer. `agents`/`agentIds` come from bulk and incident-aware answers;
 * `agentId` from the single-agent answer of servers without incidents.
 */
export interface RevocationAnswer {
  incidentId?: string;
  revokedAt?: string;
  agents?: number;
  agentIds?: string[];
  /** Selected agents that were revoked before this call. */
  alreadyRevokedIds?: string[];
  /** Selected agents that no longer exist. */
  missingIds?: string[];
  agentId?: string;
  alreadyRevoked?: boolean;
}

export interface Me {
  kind: string;
  userId: string;
  name: string;
  role: string;
  via: string;
}
