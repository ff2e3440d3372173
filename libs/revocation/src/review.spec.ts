import type { ActionType, LedgerEntry } from '@app/actions';
import type { IncidentSummary, RollbackPolicy } from '@app/incidents';
import { needsReview, windowOf } from './review';

const OPENED_AT = Date.parse('2026-11-28T10:00:00.000Z');
const at = (msFromOpening: number) => new Date(OPENED_AT + msFromOpening).toISOString();

function incident(overrides: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    id: 'inc_this',
    status: 'following_up',
    reason: 'test',
    openedBy: { userId: 'usr_1', name: 'Ada', role: 'responder' },
    openedFrom: { via: 'api' },
    openedAt: at(0),
    rollback: 'epoch',
    agents: 1,
    counts: { fenced: 1, halted: 0, aborted: 0, rolledBack: 0, needsReview: 0 },
    progress: { done: 0, total: 1 },
    ...overrides,
  };
}

let seq = 0;
function action(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  seq += 1;
  return {
    id: `act_${seq}`,
    agentId: 'agt_1',
    type: 'mail.archive',
    status: 'succeeded',
    epoch: 2,
    seq,
    attempts: 1,
    submittedAt: at(-5000),
    finishedAt: at(-4000),
    ...overrides,
  };
}

const TYPES: Record<string, ActionType> = {
  'mail.archive': { reversible: true, compensation: 'mail.unarchive' } as ActionType,
  'mail.send': { reversible: false } as ActionType,
};
const catalog = (type: string) => Promise.resolve(TYPES[type]);

/** The review list of a stop of epoch 2 over `recent`, as `[actionId, why]`. */
async function review(recent: LedgerEntry[], overrides: Partial<IncidentSummary> = {}) {
  const items = await needsReview(incident(overrides), recent, 2, catalog);
  return items.map((item) => [item.actionId, item.why]);
}

describe('needsReview', () => {
  it('lists an action aborted under the revoked epoch as its stop opened', async () => {
    const aborted = action({ status: 'aborted', finishedAt: at(-200) });
    expect(await review([aborted])).toEqual([
      [aborted.id, 'aborted mid-way: it may have partly happened'],
    ]);
  });

  it("leaves an older epoch's aborted action to its own stop, even one ended just before", async () => {
    // Aborted 200 ms before this stop opened: by time alone it would be this stop's.
    const earlier = action({ status: 'aborted', epoch: 1, finishedAt: at(-200) });
    expect(await review([earlier])).toEqual([]);
  });

  it('leaves an action of the revoked epoch aborted long before this stop opened', async () => {
    // A minute before the stop opened, the abort was not this stop's doing.
    const old = action({ status: 'aborted', finishedAt: at(-60_000) });
    expect(await review([old])).toEqual([]);
  });

  it('lists an action halted while waiting to retry, not one halted before its first try', async () => {
    const retrying = action({ status: 'halted', attempts: 1, finishedAt: at(50) });
    const neverRun = action({ status: 'halted', attempts: 0, finishedAt: at(50) });
    const olderEpoch = action({ status: 'halted', attempts: 2, epoch: 1, finishedAt: at(-100) });
    expect(await review([retrying, neverRun, olderEpoch])).toEqual([
      [
        retrying.id,
        'halted while waiting to retry: an earlier attempt failed and may have partly happened',
      ],
    ]);
  });

  it('lists compensations that failed under this incident only', async () => {
    const failedHere = action({
      status: 'rollback_failed',
      rollbackIncident: 'inc_this',
      rollbackDetail: 'compensation mail.unarchive failed 3 times: HTTP 500',
    });
    const failedElsewhere = action({ status: 'rollback_failed', rollbackIncident: 'inc_other' });
    const noDetail = action({ status: 'rollback_failed', rollbackIncident: 'inc_this' });
    expect(await review([failedHere, failedElsewhere, noDetail])).toEqual([
      [failedHere.id, 'compensation mail.unarchive failed 3 times: HTTP 500'],
      [noDetail.id, 'compensation failed'],
    ]);
  });

  it('lists succeeded actions in the window that were not rolled back, and why', async () => {
    const irreversible = action({ type: 'mail.send' });
    const gone = action({ type: 'mail.forward' });
    const leftToEarlier = action({ rollbackIncident: 'inc_earlier' });
    const reversible = action();
    const outsideWindow = action({ type: 'mail.send', epoch: 1 });
    expect(await review([irreversible, gone, leftToEarlier, reversible, outsideWindow])).toEqual([
      [irreversible.id, 'irreversible: it cannot be rolled back'],
      [gone.id, 'its type mail.forward is no longer in the catalog: it was not rolled back'],
      [
        leftToEarlier.id,
        'left to incident inc_earlier, which was rolling it back first: see its report',
      ],
    ]);
  });

  it('lists nothing that succeeded when the stop rolls nothing back', async () => {
    expect(await review([action({ type: 'mail.send' })], { rollback: 'none' })).toEqual([]);
  });

  it('keeps the items given first, and lists each action once', async () => {
    const running = action({ status: 'aborted', finishedAt: at(100) });
    const items = await needsReview(incident(), [running], 2, catalog, [
      { agentId: 'agt_1', actionId: running.id, type: running.type, why: 'still running' },
    ]);
    expect(items.map((item) => item.why)).toEqual(['still running']);
  });

  it('fails when the catalog cannot be read, rather than calling a type irreversible', async () => {
    const failing = () => Promise.reject(new Error('Redis is away'));
    await expect(needsReview(incident(), [action()], 2, failing)).rejects.toThrow('Redis is away');
  });
});

describe('windowOf', () => {
  const recent = [
    action({ epoch: 2, finishedAt: at(-1000) }),
    action({ epoch: 1, finishedAt: at(-30_000) }),
    action({ epoch: 1, finishedAt: undefined, submittedAt: at(-90_000) }),
  ];
  const ids = (policy: RollbackPolicy) => windowOf(policy, recent, 2).map((a) => a.id);

  it('takes the revoked epoch by default, everything since a time, or nothing', () => {
    expect(ids('epoch')).toEqual([recent[0].id]);
    expect(ids({ since: at(-60_000) })).toEqual([recent[0].id, recent[1].id]);
    expect(ids({ since: at(-120_000) })).toEqual(recent.map((a) => a.id));
    expect(ids('none')).toEqual([]);
  });
});
