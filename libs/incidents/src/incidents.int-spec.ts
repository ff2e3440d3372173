import { IncidentsRepository } from './incidents.repository';
import { redisForSpec } from '../../../test/support/int';

// The incident's counting scripts against a real Redis: counts move with each follow-up step,
// and neither a repeated step nor the final report counts anything twice.
describe('incident counts (real Redis)', () => {
  const { redis } = redisForSpec('incidents');
  let incidents: IncidentsRepository;
  let n = 0;

  beforeAll(() => {
    incidents = new IncidentsRepository(redis);
  });

  /** A following-up incident of the given agents, as a stop opens it. */
  const open = async (agentIds: string[]) => {
    const id = `inc_${String(++n).padStart(16, '0')}`;
    await incidents.create({
      id,
      reason: 'int',
      openedBy: { userId: 'usr_0000000000000001', name: 'int', role: 'admin' },
      openedFrom: { via: 'api' },
      openedAt: Date.now(),
      rollback: 'epoch',
      agentIds,
      timeline: [],
      fenced: agentIds.map((agentId) => ({ agentId, revokedEpoch: 1 })),
    });
    return id;
  };
  const entry = (outcome: string) => ({
    at: Date.now(),
    actor: 'killswitch',
    step: 'abort',
    outcome,
  });
  /** A step named `key`, whose entry says `outcome`. */
  const step = (key: string, outcome = key) => ({ entries: [{ key, entry: entry(outcome) }] });
  const counts = async (id: string) => (await incidents.get(id))?.counts;

  it('keeps the epoch at which a stop that opens already fenced revoked each agent', async () => {
    const id = await open(['agt_a', 'agt_b']);
    expect(await incidents.fencedAgents(id)).toEqual([
      { agentId: 'agt_a', revokedEpoch: 1 },
      { agentId: 'agt_b', revokedEpoch: 1 },
    ]);
  });

  it('adds each step once, the final report only the rest, and nothing after it', async () => {
    const id = await open(['agt_a', 'agt_b']);
    expect(
      await incidents.agentProgress(
        id,
        'agt_a',
        { halted: 50, aborted: 0, rolledBack: 0 },
        {
          entries: [...step('a').entries, ...step('a2').entries],
        },
      ),
    ).toBe(2);
    // A retried job reports the same step again (its entry is not added twice), then goes
    // further.
    expect(
      await incidents.agentProgress(
        id,
        'agt_a',
        { halted: 50, aborted: 0, rolledBack: 0 },
        step('a', 'a again'),
      ),
    ).toBe(0);
    await incidents.agentProgress(
      id,
      'agt_a',
      { halted: 50, aborted: 1, rolledBack: 2 },
      step('a3'),
    );
    await incidents.agentProgress(id, 'agt_b', { halted: 7, aborted: 0, rolledBack: 0 }, step('b'));
    expect(await counts(id)).toMatchObject({
      halted: 57,
      aborted: 1,
      rolledBack: 2,
      needsReview: 0,
    });

    expect(
      await incidents.reportAgent(id, 'agt_a', { halted: 50, aborted: 1, rolledBack: 3 }, []),
    ).toEqual({ done: 1, total: 2, status: 'following_up' });
    expect(await counts(id)).toMatchObject({ halted: 57, aborted: 1, rolledBack: 3 });
    // A re-run after the report: its entries are kept, its counts are not added again.
    await incidents.agentProgress(
      id,
      'agt_a',
      { halted: 50, aborted: 1, rolledBack: 3 },
      step('late'),
    );
    await incidents.reportAgent(id, 'agt_a', { halted: 50, aborted: 1, rolledBack: 3 }, []);
    expect(await counts(id)).toMatchObject({ halted: 57, aborted: 1, rolledBack: 3 });

    expect(
      await incidents.reportAgent(id, 'agt_b', { halted: 7, aborted: 0, rolledBack: 0 }, [
        { agentId: 'agt_b', why: 'irreversible' },
      ]),
    ).toEqual({ done: 2, total: 2, status: 'done' });
    const incident = await incidents.get(id);
    expect(incident?.counts).toEqual({
      fenced: 2,
      halted: 57,
      aborted: 1,
      rolledBack: 3,
      needsReview: 1,
    });
    expect(incident?.timeline.map((e) => e.outcome)).toEqual([
      'a',
      'a2',
      'a3',
      'b',
      'late',
      'complete',
    ]);
    // Nothing is kept for agents that have reported.
    expect(await redis.client.exists(redis.keys.incidentProgress(id))).toBe(0);
  });

  it("records an agent's halts once each, however often its follow-up reports them", async () => {
    const id = await open(['agt_a']);
    const halts = { at: Date.now(), actor: 'killswitch', step: 'halt', agentId: 'agt_a' };
    const report = (halted: number) =>
      incidents.agentProgress(id, 'agt_a', { halted, aborted: 0, rolledBack: 0 }, { halts });
    expect(await report(0)).toBe(0);
    expect(await report(3)).toBe(1);
    // Resumed: the same three again, then one more (halted at its action's start).
    expect(await report(3)).toBe(0);
    expect(await report(4)).toBe(1);
    expect(await report(6)).toBe(1);
    const incident = await incidents.get(id);
    expect(incident?.timeline.map((e) => [e.step, e.outcome, e.agentId])).toEqual([
      ['halt', '3 queued actions halted', 'agt_a'],
      ['halt', '1 queued action halted (4 in all)', 'agt_a'],
      ['halt', '2 queued actions halted (6 in all)', 'agt_a'],
    ]);
    expect(incident?.timeline[0].at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(incident?.counts.halted).toBe(6);
  });

  it('ends the follow-up of an incident whose fan-out gave up, with one review item for it', async () => {
    const id = await open(['agt_a', 'agt_b']);
    await redis.client.hset(redis.keys.incident(id), 'status', 'open');
    const failed = { at: Date.now(), actor: 'killswitch', step: 'follow-up', outcome: 'failed' };
    expect(await incidents.giveUp(id, 'the follow-up gave up', failed)).toBe('done');
    const incident = await incidents.get(id);
    expect(incident).toMatchObject({
      status: 'done',
      doneAt: expect.any(String),
      counts: { needsReview: 1 },
      needsReview: [{ why: 'the follow-up gave up' }],
    });
    expect(incident?.needsReview[0].agentId).toBeUndefined();
    // A second give-up (a retry after a lost reply) changes nothing; an agent's late report
    // still counts.
    const entries = (await incidents.get(id))?.timeline.length;
    expect(await incidents.giveUp(id, 'again', failed)).toBe('done');
    expect((await incidents.get(id))?.timeline).toHaveLength(entries ?? -1);
    // No incident (never written, or discarded): nothing written.
    expect(await incidents.giveUp('inc_ffffffffffffffff', 'x', failed)).toBeUndefined();
    expect(await redis.client.exists(redis.keys.incident('inc_ffffffffffffffff'))).toBe(0);
    expect((await incidents.get(id))?.needsReview).toHaveLength(1);
    await incidents.reportAgent(id, 'agt_a', { halted: 2, aborted: 0, rolledBack: 0 }, []);
    expect(await incidents.get(id)).toMatchObject({
      status: 'done',
      counts: { halted: 2, needsReview: 1 },
    });
  });

  it('resolves an incident only once its follow-up is done, checked in the same step', async () => {
    const id = await open(['agt_a']);
    const by = { userId: 'usr_0000000000000002', name: 'R', role: 'responder' as const };
    const entry = { at: Date.now(), actor: 'R', step: 'resolve', outcome: 'resolved' };
    await redis.client.hset(redis.keys.incident(id), 'status', 'open');
    expect(await incidents.resolve(id, by, 'too early', entry)).toBe('open');
    await redis.client.hset(redis.keys.incident(id), 'status', 'following_up');
    expect(await incidents.resolve(id, by, 'too early', entry)).toBe('following_up');
    expect((await incidents.get(id))?.timeline).toEqual([]);

    await incidents.reportAgent(id, 'agt_a', { halted: 0, aborted: 0, rolledBack: 0 }, []);
    expect(await incidents.status(id)).toBe('done');
    expect(await incidents.resolve(id, by, 'retired', entry)).toBe('ok');
    expect(await incidents.get(id)).toMatchObject({ status: 'resolved', note: 'retired' });
    expect(await incidents.resolve(id, by, 'again', entry)).toBe('resolved');
    expect(await incidents.resolve('inc_ffffffffffffffff', by, 'x', entry)).toBe('missing');

    // Forced (an admin, its follow-up stuck): resolved all the same, and it says from what.
    const stuck = await open(['agt_b']);
    expect(await incidents.resolve(stuck, by, 'stuck', entry, true)).toBe('ok');
    expect(await incidents.status(stuck)).toBe('resolved');
    expect(await redis.client.hget(redis.keys.incident(stuck), 'forcedFrom')).toBe('following_up');
    expect(await incidents.resolve(stuck, by, 'again', entry, true)).toBe('resolved');
  });
});
