import { randomBytes, randomUUID } from 'node:crypto';
import { AgentsRepository, newAgentId } from '@app/agents';
import { IncidentsRepository } from '@app/incidents';
import { LeasesRepository } from '../../leases/src/leases.repository';
import { FENCE_BATCH, IncidentNotOpen, RevocationRepository } from './revocation.repository';
import {
  fenceAgent,
  recordedIncident,
  redisForSpec,
  reinstateAgent,
  storeAgent,
} from '../../../test/support/int';

// The fence, lease marking and incident opening scripts against a real Redis.
describe('fence scripts (real Redis)', () => {
  const { redis } = redisForSpec('fence');
  let agents: AgentsRepository;
  let leases: LeasesRepository;
  let incidents: IncidentsRepository;
  let revocations: RevocationRepository;

  beforeAll(() => {
    agents = new AgentsRepository(redis);
    leases = new LeasesRepository(redis);
    incidents = new IncidentsRepository(redis);
    revocations = new RevocationRepository(redis);
  });

  /** Opens an incident as a bulk call does, before its fences. */
  const openIncident = (id: string, agentIds: string[], openedAt = Date.now()) =>
    incidents.create({
      id,
      reason: 'r',
      openedBy: { userId: 'usr_1', name: 'R', role: 'responder' },
      openedFrom: { via: 'api' },
      openedAt,
      rollback: 'epoch',
      agentIds,
      timeline: [],
    });

  const fence = (agentId: string, reason: string, by: string, incidentId: string) =>
    fenceAgent(revocations, agentId, reason, by, incidentId);
  const agent = (owner?: string) => storeAgent(agents, owner ? { owner } : {});
  const reinstate = (agentId: string) => reinstateAgent(revocations, agentId);

  const lease = async (agentId: string) => {
    const hash = randomBytes(32).toString('hex');
    const issued = await leases.issue(agentId, hash, `lse_${hash.slice(0, 16)}`, 60_000, 600_000);
    expect(issued.kind).toBe('ok');
    return hash;
  };

  it('fences agents across several batches, each once, and reports the others as they are', async () => {
    const fleet = await Promise.all(Array.from({ length: FENCE_BATCH * 2 + 7 }, () => agent()));
    const before = fleet[3].id;
    await fence(before, 'earlier | with a bar', 'usr_x', 'inc_0000000000000001');
    const missing = newAgentId();
    const ids = [...fleet.map((a) => a.id), missing];

    const results = await revocations.fenceMany(
      ids,
      'bulk',
      'usr_r',
      'inc_0000000000000002',
      false,
    );

    expect(results.size).toBe(ids.length);
    expect(results.get(missing)).toEqual({ kind: 'missing' });
    expect(results.get(before)).toMatchObject({
      kind: 'already',
      epoch: 2,
      incidentId: 'inc_0000000000000001',
      reason: 'earlier | with a bar',
      owner: 'usr_0000000000000001',
    });
    const fenced = [...results.values()].filter((r) => r.kind === 'revoked');
    expect(fenced).toHaveLength(fleet.length - 1);
    expect(fenced.every((r) => r.kind === 'revoked' && r.epoch === 2)).toBe(true);
    const stored = await agents.getMany(fleet.map((a) => a.id));
    expect(stored.every((a) => a?.status === 'revoked' && a.epoch === 2)).toBe(true);
    expect(stored.filter((a) => a?.incidentId === 'inc_0000000000000002')).toHaveLength(
      fleet.length - 1,
    );

    // Fencing again changes nothing: no epoch moves.
    const again = await revocations.fenceMany(ids, 'x', 'usr_r', 'inc_0000000000000003', false);
    expect([...again.values()].filter((r) => r.kind === 'revoked')).toHaveLength(0);
    expect((await agents.get(fleet[0].id))?.epoch).toBe(2);
  });

  it("refuses, writing nothing, to fence another owner's agent for an owner", async () => {
    const theirs = await agent('usr_0000000000000002');
    const member = JSON.stringify({ test: randomUUID() });
    const result = await revocations.fenceOne(
      theirs.id,
      { reason: 'x', revokedBy: 'usr_1', incidentId: 'inc_0000000000000004', owner: 'usr_1' },
      { member, dueAt: Date.now() + 5000 },
    );
    expect(result).toEqual({ result: { kind: 'forbidden' }, recorded: true });
    expect(await agents.get(theirs.id)).toMatchObject({ status: 'active', epoch: 1 });
    // The record written before the fence is there for the caller to clear.
    expect(await revocations.dueUnconfirmed(Date.now() + 10_000, 100)).toContain(member);
    await revocations.confirm(member);
    expect(await revocations.dueUnconfirmed(Date.now() + 10_000, 100)).not.toContain(member);

    const own = await revocations.fenceOne(
      theirs.id,
      {
        reason: 'x',
        revokedBy: 'usr_0000000000000002',
        incidentId: 'inc_0000000000000004',
        owner: 'usr_0000000000000002',
      },
      { member, dueAt: Date.now() + 5000 },
    );
    expect(own).toMatchObject({
      result: { kind: 'revoked', epoch: 2, owner: 'usr_0000000000000002' },
      recorded: true,
    });
    await revocations.confirm(member);
  });

  it('fences for a fan-out only while its incident is open, so an agent reinstated after it was recorded stays active', async () => {
    const { id } = await agent();
    await openIncident('inc_00000000000000f3', [id]);
    const fenced = await revocations.fenceMany(
      [id],
      'r',
      'usr_r',
      'inc_00000000000000f3',
      true,
      true,
    );
    expect(fenced.get(id)).toMatchObject({ kind: 'revoked', epoch: 2 });
    await incidents.setFenced('inc_00000000000000f3', [id], [{ agentId: id, revokedEpoch: 1 }], {
      by: 'fan-out',
    });
    expect((await reinstate(id)).kind).toBe('active');
    // A second run of the fan-out, which read the incident open before it was recorded.
    await expect(
      revocations.fenceMany([id], 'r', 'usr_r', 'inc_00000000000000f3', true, true),
    ).rejects.toBeInstanceOf(IncidentNotOpen);
    expect(await redis.client.hmget(redis.keys.agent(id), 'status', 'epoch')).toEqual([
      'active',
      '3',
    ]);
  });

  it('reinstates an agent only once its stop is recorded, checked in the same step', async () => {
    const { id } = await agent();
    await fence(id, 'stop', 'usr_r', 'inc_00000000000000f1');
    // Not written yet, moments after the fence: its call or the sweeper may still open it.
    expect(await reinstate(id)).toEqual({
      kind: 'recording',
      incidentId: 'inc_00000000000000f1',
    });
    // Open: a fan-out may still fence its agents.
    await openIncident('inc_00000000000000f1', [id]);
    expect((await reinstate(id)).kind).toBe('recording');
    await incidents.setFenced('inc_00000000000000f1', [id], [{ agentId: id, revokedEpoch: 1 }], {
      by: 'call',
    });
    expect(await reinstate(id)).toMatchObject({
      kind: 'active',
      epoch: 3,
      incidentId: 'inc_00000000000000f1',
    });
    // On the stop's timeline, written in the same step.
    const timeline = (await incidents.get('inc_00000000000000f1'))?.timeline ?? [];
    expect(timeline.filter((e) => e.step === 'reinstate')).toEqual([
      {
        at: expect.stringMatching(/Z$/),
        actor: 'admin',
        step: 'reinstate',
        outcome: 'agent active again at epoch 3',
        agentId: id,
      },
    ]);
    expect((await reinstate(id)).kind).toBe('not_revoked');

    // A stop whose incident was never written, a minute on: nothing will record it any more.
    const { id: old } = await agent();
    await fence(old, 'stop', 'usr_r', 'inc_00000000000000f2');
    await redis.client.hset(redis.keys.agent(old), 'revokedAt', Date.now() - 61_000);
    expect((await reinstate(old)).kind).toBe('active');
    // No fragment of a timeline for an incident that does not exist.
    expect(await redis.client.exists(redis.keys.incidentTimeline('inc_00000000000000f2'))).toBe(0);
  });

  it('deletes an agent only once its stop is over, checked in the same step', async () => {
    // Ids of their own: the other tests here use fixed ones.
    const stops = Array.from({ length: 4 }, () => `inc_${randomBytes(8).toString('hex')}`);
    const { id } = await agent();
    await lease(id);
    expect(await revocations.deleteAgent(id)).toEqual({ kind: 'active' });

    const incidentId = stops[0];
    await fence(id, 'stop', 'usr_r', incidentId);
    const stopping = { kind: 'stopping', incidentId };
    // Not written yet, then open, then following up: its follow-up would lose the agent.
    expect(await revocations.deleteAgent(id)).toEqual(stopping);
    await openIncident(incidentId, [id]);
    expect(await revocations.deleteAgent(id)).toEqual(stopping);
    await incidents.setFenced(incidentId, [id], [{ agentId: id, revokedEpoch: 1 }], {
      by: 'call',
    });
    expect(await incidents.status(incidentId)).toBe('following_up');
    expect(await revocations.deleteAgent(id)).toEqual(stopping);
    expect(await redis.client.exists(redis.keys.agent(id))).toBe(1);

    await redis.client.hset(redis.keys.incident(incidentId), 'status', 'done');
    expect(await revocations.deleteAgent(id)).toEqual({ kind: 'deleted' });
    expect(await redis.client.exists(redis.keys.agent(id), redis.keys.agentLeases(id))).toBe(0);
    expect(await revocations.deleteAgent(id)).toEqual({ kind: 'missing' });

    // Reinstated, then stopped again: the new stop is the one that must be over.
    const { id: again } = await agent();
    await fence(again, 'first', 'usr_r', stops[1]);
    await recordedIncident(redis, stops[1]);
    await redis.client.hset(redis.keys.incident(stops[1]), 'status', 'done');
    expect((await reinstate(again)).kind).toBe('active');
    await fence(again, 'second', 'usr_r', stops[2]);
    await recordedIncident(redis, stops[2]);
    expect(await revocations.deleteAgent(again)).toEqual({
      kind: 'stopping',
      incidentId: stops[2],
    });
    // The caller's read, stale (the first stop's): the script says so, and the agent is read
    // again.
    expect(await revocations.deleteAgent(again, stops[1])).toEqual({
      kind: 'stopping',
      incidentId: stops[2],
    });

    // A stop whose incident was never written, a minute on: nothing will follow it up any more.
    const { id: old } = await agent();
    await fence(old, 'stop', 'usr_r', stops[3]);
    await redis.client.hset(redis.keys.agent(old), 'revokedAt', Date.now() - 61_000);
    expect(await revocations.deleteAgent(old)).toEqual({ kind: 'deleted' });
  });

  it("marks the revoked epoch's leases for the record and leaves a later epoch's alone", async () => {
    const { id } = await agent();
    const old = [await lease(id), await lease(id)];
    const fenced = await fence(id, 'stop', 'usr_r', 'inc_0000000000000005');
    expect(fenced?.kind).toBe('revoked');
    // Dead from the fence on, before any marking.
    expect((await leases.touch(id, old[0], 'peek')).kind).toBe('revoked');
    await recordedIncident(redis, 'inc_0000000000000005');
    expect((await reinstate(id)).kind).toBe('active');
    const fresh = await lease(id);

    expect(await revocations.markLeases(id, 1, 1_800_000_000_000, 'stop', 'inc_5')).toBe(2);
    expect(await revocations.markLeases(id, 1, 1_800_000_000_000, 'stop', 'inc_5')).toBe(0);
    expect(await leases.touch(id, old[1], 'peek')).toMatchObject({
      kind: 'revoked',
      reason: 'stop',
      incidentId: 'inc_5',
    });
    expect((await leases.touch(id, fresh, 'renew')).kind).toBe('active');
  });

  it('marks many leases in batches, past the ones of a later epoch it leaves alone', async () => {
    const { id } = await agent();
    const old = await Promise.all(Array.from({ length: 7 }, () => lease(id)));
    await fence(id, 'stop', 'usr_r', 'inc_0000000000000006');
    await recordedIncident(redis, 'inc_0000000000000006');
    expect((await reinstate(id)).kind).toBe('active');
    const fresh = await Promise.all(Array.from({ length: 3 }, () => lease(id)));
    // The later epoch's three first in the set (they are last by issue time): two a batch,
    // every batch must move past the ones it leaves.
    const key = redis.keys.agentLeases(id);
    for (const member of await redis.client.zrange(key, -3, -1)) {
      await redis.client.zadd(key, 0, member);
    }
    expect(await revocations.markLeases(id, 1, 1_800_000_000_000, 'stop', 'inc_6', 2)).toBe(7);
    for (const token of old) {
      expect((await leases.touch(id, token, 'peek')).kind).toBe('revoked');
    }
    for (const token of fresh) {
      expect((await leases.touch(id, token, 'renew')).kind).toBe('active');
    }
    expect(await redis.client.zcard(redis.keys.agentLeases(id))).toBe(3);
    expect(await revocations.markLeases(id, 1, 1_800_000_000_000, 'stop', 'inc_6', 2)).toBe(0);
  });

  it('opens an incident once, whoever writes it first', async () => {
    const input = {
      id: 'inc_00000000000000a1',
      reason: 'r',
      openedBy: { userId: 'usr_1', name: 'R', role: 'responder' as const },
      openedFrom: { via: 'api' as const },
      openedAt: Date.now(),
      rollback: 'epoch' as const,
      agentIds: Array.from({ length: 2500 }, (_, i) => `agt_${String(i).padStart(16, '0')}`),
      timeline: [{ at: Date.now(), actor: 'R', via: 'api', step: 'revoke', outcome: 'requested' }],
    };
    expect(await incidents.create(input)).toBe(true);
    expect(await incidents.create({ ...input, reason: 'second' })).toBe(false);
    const incident = await incidents.get(input.id);
    expect(incident).toMatchObject({ reason: 'r', agents: 2500, status: 'open' });
    expect(incident?.agentIds).toEqual(input.agentIds);
    expect(await incidents.agentIds(input.id, 3)).toEqual(input.agentIds.slice(0, 3));
    expect(await incidents.agentIds(input.id, 0)).toEqual([]);
    expect(incident?.timeline).toHaveLength(1);
    // Incidents written before the agents were one string kept them in a list.
    await redis.client.rpush(redis.keys.incidentAgents('inc_00000000000000a2'), 'agt_1', 'agt_2');
    expect(await incidents.agentIds('inc_00000000000000a2')).toEqual(['agt_1', 'agt_2']);
  });

  it('records which agents a stop fenced, aligned with its agents, dropping unknown ids', async () => {
    const ids = ['a', 'b', 'c', 'd'].map((n) => `agt_000000000000000${n}`);
    await openIncident('inc_00000000000000c1', ids);
    expect(await incidents.fencedAgents('inc_00000000000000c1')).toBeUndefined();
    // b is unknown; c was revoked before, by another incident.
    const existing = [ids[0], ids[2], ids[3]];
    const fenced = [
      { agentId: ids[0], revokedEpoch: 1 },
      { agentId: ids[3], revokedEpoch: 7 },
    ];
    expect(
      await incidents.setFenced('inc_00000000000000c1', existing, fenced, {
        by: 'call',
        dropMissing: true,
      }),
    ).toBe(true);

    expect(await incidents.fencedAgents('inc_00000000000000c1')).toEqual(fenced);
    const incident = await incidents.get('inc_00000000000000c1');
    expect(incident).toMatchObject({ agents: 3, agentIds: existing, status: 'following_up' });
    expect(incident?.counts.fenced).toBe(2);

    // Nothing fenced: done at once, nothing recorded.
    await openIncident('inc_00000000000000c2', [ids[2]]);
    await incidents.setFenced('inc_00000000000000c2', [ids[2]], [], { by: 'call' });
    expect(await incidents.fencedAgents('inc_00000000000000c2')).toBeUndefined();
    expect(await incidents.get('inc_00000000000000c2')).toMatchObject({
      status: 'done',
      agents: 1,
      doneAt: expect.any(String),
    });
  });

  it('pages incidents opened in the same millisecond without skipping or repeating one', async () => {
    const openedAt = 2_000_000_000_000; // after every other incident of this spec
    const ids = ['b1', 'b2', 'b3', 'b4', 'b5'].map((n) => `inc_00000000000000${n}`);
    for (const id of ids) {
      await openIncident(id, ['agt_0000000000000001'], openedAt);
    }
    const seen: string[] = [];
    let before: { openedAt: number; id: string } | undefined;
    for (let pages = 0; pages < 3; pages++) {
      const page = (await incidents.page(undefined, before, 2)).filter(
        (entry) => entry.openedAt === openedAt,
      );
      seen.push(...page.map((entry) => entry.id));
      before = page.at(-1);
    }
    expect([...seen].sort()).toEqual(ids);
  });
  it('discards an incident its call fenced nothing with, unless a fan-out took it over first', async () => {
    const index = () => redis.client.zrange(redis.keys.incidentsIndex(), 0, -1);
    // The call first: removed, and a fan-out arriving later finds the tombstone.
    await openIncident('inc_00000000000000d1', ['agt_1']);
    expect(await incidents.discard('inc_00000000000000d1', Date.now())).toBe(true);
    expect(await incidents.status('inc_00000000000000d1')).toBeUndefined();
    expect(await index()).not.toContain('inc_00000000000000d1');
    expect(await incidents.takeOver('inc_00000000000000d1')).toBe('discarded');
    expect(await incidents.status('inc_00000000000000d1')).toBeUndefined();

    // The fan-out first: the call no longer removes it.
    await openIncident('inc_00000000000000d2', ['agt_1']);
    expect(await incidents.takeOver('inc_00000000000000d2')).toBe('ok');
    expect(await incidents.discard('inc_00000000000000d2', Date.now())).toBe(false);
    expect(await incidents.status('inc_00000000000000d2')).toBe('open');
    expect(await index()).toContain('inc_00000000000000d2');

    // Not written yet, or past `open`: neither taken over nor removed.
    expect(await incidents.takeOver('inc_00000000000000d3')).toBe('missing');
    await openIncident('inc_00000000000000d4', ['agt_1']);
    await incidents.setFenced('inc_00000000000000d4', ['agt_1'], [], { by: 'call' });
    expect(await incidents.takeOver('inc_00000000000000d4')).toBe('recorded');
    expect(await incidents.discard('inc_00000000000000d4', Date.now())).toBe(false);
    expect(await incidents.status('inc_00000000000000d4')).toBe('done');
  });

  it('never leaves the list naming a discarded incident, whichever of its writes fails', async () => {
    const index = () => redis.client.zrange(redis.keys.incidentsIndex(), 0, -1);
    const openedAt = Date.now();
    await openIncident('inc_00000000000000d5', ['agt_1'], openedAt);
    const listing = jest
      .spyOn(redis.client, 'zrem')
      .mockRejectedValueOnce(new Error('the process died here'));
    try {
      await expect(incidents.discard('inc_00000000000000d5', openedAt)).rejects.toThrow('died');
    } finally {
      listing.mockRestore();
    }
    // Not removed from the list, and so not removed at all: listed and readable.
    expect(await incidents.status('inc_00000000000000d5')).toBe('open');
    expect(await index()).toContain('inc_00000000000000d5');
    expect(await incidents.discard('inc_00000000000000d5', openedAt)).toBe(true);
    expect(await index()).not.toContain('inc_00000000000000d5');
  });

  it("lists again, from the sweeper's record, an incident a cut-short write left off the list", async () => {
    const listed = (id: string) => redis.client.zscore(redis.keys.incidentsIndex(), id);
    await openIncident('inc_00000000000000d6', ['agt_1'], 1234);
    await redis.client.zrem(redis.keys.incidentsIndex(), 'inc_00000000000000d6');
    expect(await incidents.relist('inc_00000000000000d6')).toBe('open');
    expect(await listed('inc_00000000000000d6')).toBe('1234');
    // None (discarded, or never written): nothing listed.
    expect(await incidents.relist('inc_00000000000000d7')).toBeUndefined();
    expect(await listed('inc_00000000000000d7')).toBeNull();
  });

  it('lets a fan-out that took an incident over record it, and not the call, once', async () => {
    const fenced = [{ agentId: 'agt_1', revokedEpoch: 1 }];
    await openIncident('inc_00000000000000e1', ['agt_1']);
    expect(await incidents.takeOver('inc_00000000000000e1')).toBe('ok');
    // The call, alive after all, finds it taken over: the fan-out records it.
    expect(
      await incidents.setFenced('inc_00000000000000e1', ['agt_1'], fenced, { by: 'call' }),
    ).toBe(false);
    expect(await incidents.status('inc_00000000000000e1')).toBe('open');
    expect(
      await incidents.setFenced('inc_00000000000000e1', ['agt_1'], fenced, { by: 'fan-out' }),
    ).toBe(true);
    expect(await incidents.status('inc_00000000000000e1')).toBe('following_up');
    expect(await incidents.fencedAgents('inc_00000000000000e1')).toEqual(fenced);
    // Recorded once: a second record, by either, changes nothing.
    expect(
      await incidents.setFenced('inc_00000000000000e1', ['agt_1'], [], { by: 'fan-out' }),
    ).toBe(false);
    expect(await incidents.fencedAgents('inc_00000000000000e1')).toEqual(fenced);
  });
});
