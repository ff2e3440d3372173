import type { ActionType, LedgerEntry } from '@app/actions';
import type { IncidentSummary, ReviewItem, RollbackPolicy } from '@app/incidents';

/**
 * The catalog as one agent's follow-up reads it: each action's type once (whether it is
 * reversible, and by what, for the rollback and then its review, which so agree). Undefined
 * for a type the catalog does not have; a failed read rejects, failing the job, which is
 * retried: a type that could not be read must not pass for an irreversible one.
 */
export type Catalog = (type: string) => Promise<ActionType | undefined>;

/**
 * What a stop could not undo, for its incident's review list, derived from the ledger so that a
 * re-run of the follow-up lists the same: compensations that failed under this incident, actions
 * aborted or halted mid-retry by the stop that revoked their epoch, and succeeded actions in the
 * rollback window that were not rolled back (irreversible, gone from the catalog, or left to an
 * earlier stop still compensating them).
 *
 * @param recent - the agent's ledger up to the revoked epoch, newest first
 * @param first - items listed before the rest (actions still running after the abort)
 */
export async function needsReview(
  incident: IncidentSummary,
  recent: LedgerEntry[],
  revokedEpoch: number,
  catalog: Catalog,
  first: ReviewItem[] = [],
): Promise<ReviewItem[]> {
  const review = [...first];
  const openedAt = Date.parse(incident.openedAt);
  const window = new Set(windowOf(incident.rollback, recent, revokedEpoch).map((a) => a.id));
  const seen = new Set(review.map((r) => r.actionId));
  // Aborted or halted by the stop that revoked its epoch, which lists it: an older epoch's
  // action is an earlier stop's, even one that ended just before this stop opened.
  const endedHere = (action: LedgerEntry) =>
    action.epoch === revokedEpoch && Date.parse(action.finishedAt ?? '') >= openedAt - 1000;
  for (const action of recent) {
    if (seen.has(action.id)) {
      continue;
    }
    const inWindow = window.has(action.id);
    let why: string | undefined;
    if (action.status === 'rollback_failed' && action.rollbackIncident === incident.id) {
      why = failedCompensation(action.rollbackDetail);
    } else if (action.status === 'aborted' && endedHere(action)) {
      why = ABORTED_MID_WAY;
    } else if (action.status === 'halted' && action.attempts > 0 && endedHere(action)) {
      // Halted while waiting to try again: the attempt that failed (a timeout, a cut
      // connection) may have been acted on all the same.
      why = 'halted while waiting to retry: an earlier attempt failed and may have partly happened';
    } else if (action.status === 'succeeded' && inWindow) {
      const type = await catalog(action.type);
      if (!type) {
        why = `its type ${action.type} is no longer in the catalog: it was not rolled back`;
      } else if (!type.reversible || !type.compensation) {
        why = 'irreversible: it cannot be rolled back';
      } else if (action.rollbackIncident && action.rollbackIncident !== incident.id) {
        // Claimed by an earlier stop (rollBack left it to it) and not settled yet: that stop
        // settles it, unless its follow-up died mid-compensation.
        why =
          `left to incident ${action.rollbackIncident}, which was rolling it back first: ` +
          'see its report';
      }
    }
    if (why) {
      seen.add(action.id);
      review.push(reviewOf(action, why));
    }
  }
  return review;
}

// Listed by the step that finds them too (FollowupService), as soon as it does: the same words.
export const ABORTED_MID_WAY = 'aborted mid-way: it may have partly happened';
export const failedCompensation = (detail: string | undefined) => detail ?? 'compensation failed';

export function reviewOf(action: Pick<LedgerEntry, 'agentId' | 'id' | 'type'>, why: string) {
  return { agentId: action.agentId, actionId: action.id, type: action.type, why };
}

/** The agent's actions a rollback considers, newest first (none for `rollback: "none"`). */
export function windowOf(
  policy: RollbackPolicy,
  recent: LedgerEntry[],
  revokedEpoch: number,
): LedgerEntry[] {
  if (policy === 'none') {
    return [];
  }
  if (policy === 'epoch') {
    return recent.filter((a) => a.epoch === revokedEpoch);
  }
  const since = Date.parse(policy.since);
  return recent.filter((a) => Date.parse(a.finishedAt ?? a.submittedAt) >= since);
}
