/**
 * What the killswitch API answers, as the CLI reads it: the server's own types (type-only
 * imports, erased when compiled, so the CLI loads none of the server's code).
 */
import type { IncidentStatus } from '@app/incidents';

export type { Agent } from '@app/agents';
export type {
  Incident,
  IncidentCounts,
  IncidentStatus,
  IncidentSummary,
  ReviewItem as NeedsReview,
  RollbackPolicy as Rollback,
  TimelineEntry,
} from '@app/incidents';
export type { DryRunAnswer, RevocationAnswer, Selector } from '@app/revocation';

/** Statuses during which follow-up work (halt, abort, roll back) is still running. */
export const ACTIVE_STATUSES: readonly IncidentStatus[] = ['open', 'following_up'];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Me {
  kind: string;
  userId: string;
  name: string;
  role: string;
  via: string;
}
