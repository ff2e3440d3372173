import { randomBytes } from 'node:crypto';

export type IncidentStatus = 'open' | 'following_up' | 'done' | 'resolved';

/** Where a stop came from: the interface, and the device when it was a phone. */
export interface Origin {
  via: string;
  deviceId?: string;
  deviceName?: string;
}

export interface Actor {
  userId: string;
  name: string;
  role: string;
}

/** Which actions a revocation rolls back. */
export type RollbackPolicy = 'none' | 'epoch' | { since: string };

export interface TimelineEntry {
  at: string;
  /** Who did it: a person's name and id, or `killswitch` for follow-up work. */
  actor: string;
  via?: string;
  step: string;
  outcome: string;
  detail?: string;
  agentId?: string;
  actionId?: string;
}

export interface ReviewItem {
  /** Absent: the item concerns the whole incident (its fan-out gave up). */
  agentId?: string;
  actionId?: string;
  type?: string;
  why: string;
}

export interface IncidentCounts {
  fenced: number;
  halted: number;
  aborted: number;
  rolledBack: number;
  needsReview: number;
}

export interface Incident {
  id: string;
  status: IncidentStatus;
  reason: string;
  openedBy: Actor;
  openedFrom: Origin;
  openedAt: string;
  rollback: RollbackPolicy;
  /** The number of agents the revocation selected. */
  agents: number;
  /** In the order selected: all of them, or the first ones when the reader asked for fewer. */
  agentIds: string[];
  counts: IncidentCounts;
  /** Agents whose follow-up is finished, of those this incident fenced. */
  progress: { done: number; total: number };
  /** In the order found: all of them, or the first ones when the reader asked for fewer. */
  needsReview: ReviewItem[];
  /** How many items the whole review list holds. */
  reviewTotal: number;
  /** Oldest first: all of it, or the last entries when the reader asked for fewer. */
  timeline: TimelineEntry[];
  /** How many entries the whole timeline holds. */
  timelineTotal: number;
  doneAt?: string;
  resolvedAt?: string;
  resolvedBy?: Actor;
  note?: string;
}

export type IncidentSummary = Omit<
  Incident,
  'timeline' | 'timelineTotal' | 'needsReview' | 'reviewTotal' | 'agentIds'
>;

/**
 * How much of an incident's long lists a reader wants: the newest `timeline` entries, the
 * first `review` items and the first `agents` ids (all of each when absent).
 */
export interface IncidentViewLimits {
  timeline?: number;
  review?: number;
  agents?: number;
}

export const INCIDENT_ID = /^inc_[0-9a-f]{16}$/;

/** Who the timeline names for steps killswitch takes on its own (follow-up, sweeps). */
export const SYSTEM_ACTOR = 'killswitch';

/** How the timeline names a person: `Name (usr_…)`. */
export const actorName = (who: { name: string; userId: string }) => `${who.name} (${who.userId})`;
export const newIncidentId = () => `inc_${randomBytes(8).toString('hex')}`;

export { isoMs } from '@app/core';
