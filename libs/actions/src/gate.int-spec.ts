import { AgentsRepository } from '@app/agents';
import { runScript } from '@app/redis';
import { RevocationRepository } from '@app/revocation';
import type { AgentsService } from '@app/agents';
import { newActionId } from './action';
import type { ActionTypesService } from './action-types.service';
import type { ActionsQueue } from './actions.queue';
import { ActionsRepository } from './actions.repository';
import { ActionsService } from './actions.service';
import {
  fenceAgent,
  recordedIncident,
  redisForSpec,
  reinstateAgent,
  storeAgent,
} from '../../../test/support/int';

// The Lua scripts of the gate and the fence against a real Redis, below the HTTP layer.
describe('gate and fence scripts (real Redis)', () => {
  const { config, redis } = redisForSpec('gate');
  let agents: AgentsRepository;
  let actions: ActionsRepository;
  let revocations: RevocationRepository;

  beforeAll(() => {
    agents = new AgentsRepository(redis);
    actions = new ActionsRepository(redis, config);
    revocations = new RevocationRepository(redis);
  });

  const fence = (agentId: string, reason: string, by: string, incidentId: string) =>
    fenceAgent(revocations, agentId, reason, by, incidentId);
  const reinstate = (agentId: string) => reinstateAgent(revocations, agentId);
  const agent = (concurrency?: number) =>
    storeAgent(agents, { allowedActions: ['t'], ...(concurrency ? { concurrency } : {}) });

  const submit = (agentId: string, epoch = 1, idempotencyKey?: string) =>
    actions.submit({
      agentId,
      actionId: newActionId(agentId),
      epoch,
      type: 't',
      params: '{}',
      idempotencyKey,
    });

  it('releases one action at a time and the next when one finishes', async () => {
    const { id } = await agent();
    const first = await submit(id);
    const second = await submit(id);
    expect(first.kind === 'ok' && first.released).toHaveLength(1);
    expect(second.kind === 'ok' && second.released).toEqual([]);
    const released = first.kind === 'ok' ? first.released[0] : '';
    expect((await actions.start(id, released, 1, 'job-1')).kind).toBe('run');
    const next = await actions.finish(id, released, 'succeeded', { undo: { x: 1 } });
    expect(next).toHaveLength(1);
    // Finishing again is idempotent and answers the same release.
    expect(await actions.finish(id, released, 'succeeded')).toEqual(next);
  });

  it('summarizes the newest actions, newest first, with when each last changed', async () => {
    const { id } = await agent();
    const first = await submit(id);
    const second = await submit(id);
    const released = first.kind === 'ok' ? first.released[0] : '';
    await actions.start(id, released, 1, 'job-1');
    await actions.finish(id, released, 'succeeded', { undo: { x: 1 } });

    const recent = await actions.recent(id, 5);
    const full = await actions.page(id, undefined, 5);
    expect(recent.map((a) => [a.id, a.status])).toEqual([
      [full[0].id, 'queued'],
      [released, 'succeeded'],
    ]);
    expect(second.kind).toBe('ok');
    recent.forEach((summary, i) => {
      expect(summary).toEqual({
        id: full[i].id,
        agentId: id,
        type: 't',
        status: full[i].status,
        submittedAt: full[i].submittedAt,
        updatedAt: full[i].history[full[i].history.length - 1].at,
      });
    });
    expect(await actions.recent(id, 1)).toHaveLength(1);
  });

  it('refuses a submission under a stale epoch and halts a released action at start', async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const released = submitted.kind === 'ok' ? submitted.released[0] : '';
    const fenced = await fence(id, 'test', 'usr_x', 'inc_0000000000000001');
    expect(fenced).toMatchObject({ kind: 'revoked', epoch: 2 });
    // Refused with what a heartbeat would say: why, when, which incident.
    expect(await submit(id, 1)).toEqual({
      kind: 'revoked',
      revokedAt: fenced?.kind === 'revoked' ? fenced.revokedAt : NaN,
      incidentId: 'inc_0000000000000001',
      reason: 'test',
    });
    expect(await actions.start(id, released, 1, 'job-1')).toEqual({ kind: 'halted', released: [] });
    expect(await actions.followupCounts(id, 'inc_0000000000000001')).toMatchObject({ halted: 1 });
    // The second fence is a no-op that names the first incident.
    expect(await fence(id, 'again', 'usr_x', 'inc_0000000000000002')).toMatchObject({
      kind: 'already',
      incidentId: 'inc_0000000000000001',
    });
  });

  it('halts a long queue in bounded batches, counting each action once', async () => {
    const { id } = await agent();
    for (let i = 0; i < 450; i++) {
      await submit(id);
    }
    await fence(id, 'test', 'usr_x', 'inc_0000000000000003');
    const batches: number[] = [];
    for (;;) {
      const { halted, examined } = await actions.haltQueuedBatch(
        id,
        200,
        'test',
        'inc_0000000000000003',
        1,
      );
      batches.push(halted);
      if (examined < 200) {
        break;
      }
    }
    expect(batches.reduce((a, b) => a + b, 0)).toBe(450);
    expect(Math.max(...batches)).toBeLessThanOrEqual(201);
    expect((await actions.followupCounts(id, 'inc_0000000000000003')).halted).toBe(450);
    expect(await actions.haltQueuedBatch(id, 200, 'test', 'inc_0000000000000003', 1)).toEqual({
      halted: 0,
      examined: 0,
      released: [],
    });
  });

  it('reads what an ended action released without touching it', async () => {
    const { id } = await agent();
    const first = await submit(id);
    const second = await submit(id);
    const firstId = first.kind === 'ok' ? first.released[0] : '';
    expect(second).toEqual({ kind: 'ok', released: [] });
    await actions.start(id, firstId, 1, 'job-1');
    const released = await actions.finish(id, firstId, 'succeeded');
    expect(released).toHaveLength(1);
    const before = await actions.get(released[0]);
    expect(await actions.releasedBy(id, firstId)).toEqual(released);
    // Not ended: nothing released, and it stays as it was.
    expect(await actions.releasedBy(id, released[0])).toEqual([]);
    expect(await actions.get(released[0])).toEqual(before);
  });

  it("drops an earlier attempt's error when the action succeeds, keeping it in the history", async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    await actions.start(id, actionId, 1, 'job-1');
    await actions.finish(id, actionId, 'retrying', { error: 'aborted' });
    expect((await actions.get(actionId))?.error).toBe('aborted');
    await actions.start(id, actionId, 2, 'job-1');
    await actions.finish(id, actionId, 'succeeded', { undo: { x: 1 } });
    const action = await actions.get(actionId);
    expect(action).toMatchObject({ status: 'succeeded', undo: { x: 1 } });
    expect(action?.error).toBeUndefined();
    expect(action?.history.map((h) => [h.status, h.detail])).toEqual([
      ['queued', undefined],
      ['running', 'attempt 1'],
      ['retrying', 'aborted'],
      ['running', 'attempt 2'],
      ['succeeded', undefined],
    ]);
  });

  it("reads a stop's ledger without params, result, undo or history", async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    await actions.start(id, actionId, 1, 'job-1');
    await actions.finish(id, actionId, 'succeeded', { result: { big: 'r' }, undo: { x: 1 } });
    const [full] = await actions.page(id, undefined, 10);
    const [entry] = await actions.ledger(id, 10);
    expect(full).toMatchObject({ params: {}, result: { big: 'r' }, undo: { x: 1 } });
    expect(full.history).toHaveLength(3);
    const { params, result, undo, history, ...rest } = full;
    expect(entry).toStrictEqual(rest);
    expect([params, result, undo, history].every((v) => v !== undefined)).toBe(true);
  });

  it('lets only the job that marked an action running start it again', async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    expect((await actions.start(id, actionId, 1, 'job-a')).kind).toBe('run');
    // A second job for it (a sweep, a duplicate) does nothing while it runs.
    expect(await actions.start(id, actionId, 1, 'job-b')).toEqual({
      kind: 'done',
      status: 'running',
    });
    // The job that runs it, re-run after a crash, resumes it.
    expect((await actions.start(id, actionId, 1, 'job-a')).kind).toBe('run');
  });

  it('aborts, not halts, an action whose job re-runs it after its agent was revoked', async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    expect((await actions.start(id, actionId, 1, 'job-a')).kind).toBe('run');
    // Its worker stops mid-run (dies, or loses Redis past its lock); the agent is revoked.
    await fence(id, 'test', 'usr_x', 'inc_00000000000000r1');
    // The stalled job runs again: the tool server may have done the action, so it is
    // aborted (counted and listed for review by its stop), not "halted before it started".
    expect(await actions.start(id, actionId, 1, 'job-a')).toEqual({ kind: 'halted', released: [] });
    expect(await actions.get(actionId)).toMatchObject({
      status: 'aborted',
      error:
        'its worker stopped while running it, then its agent was revoked: it may have partly ' +
        'happened',
    });
    expect(await actions.followupCounts(id, 'inc_00000000000000r1')).toMatchObject({
      aborted: 1,
      halted: 0,
    });
  });

  it('settles what a job that failed for good left running, and queues what comes after', async () => {
    // The queue is the boundary here: what the service would queue is recorded.
    const queued: string[][] = [];
    const service = new ActionsService(
      actions,
      {} as ActionTypesService,
      {} as AgentsService,
      {
        release: (_agentId: string, ids: string[]) => {
          queued.push(ids);
          return Promise.resolve();
        },
      } as unknown as ActionsQueue,
    );
    const released = (reply: Awaited<ReturnType<typeof submit>>) =>
      reply.kind === 'ok' ? reply.released : [];
    const settle = (agentId: string, actionId: string, runner: string) =>
      service.settleAbandoned(agentId, actionId, runner, 'gave up: worker stopped');

    // Its own action, running: failed, and the next one queued.
    const { id } = await agent();
    const [a] = released(await submit(id));
    await submit(id);
    await actions.start(id, a, 1, 'job-a');
    expect(await settle(id, a, 'job-a')).toEqual([a]);
    expect(await actions.get(a)).toMatchObject({
      status: 'failed',
      error: 'gave up: worker stopped',
    });
    const [b] = queued.pop() ?? [];
    expect(b).toBeDefined();

    // Further down its chain: the one it ran inline is failed, the one after it queued.
    await submit(id);
    await submit(id);
    await actions.start(id, b, 1, 'job-a');
    const [c] = await actions.finish(id, b, 'succeeded');
    await actions.start(id, c, 1, 'job-a');
    expect(await settle(id, a, 'job-a')).toEqual([c]);
    expect((await actions.get(c))?.status).toBe('failed');
    expect(queued.pop()).toHaveLength(1);

    // Released along its chain but not started: queued, not failed.
    const { id: other } = await agent();
    const [x] = released(await submit(other));
    await submit(other);
    await actions.start(other, x, 1, 'job-x');
    const [y] = await actions.finish(other, x, 'succeeded');
    expect(await settle(other, x, 'job-x')).toEqual([]);
    expect(queued.pop()).toEqual([y]);
    expect((await actions.get(y))?.status).toBe('queued');

    // Running under another job (a retry's): left to that job.
    await actions.start(other, y, 1, 'job-retry');
    expect(await settle(other, y, 'job-y')).toEqual([]);
    expect((await actions.get(y))?.status).toBe('running');

    // Waiting out a retry its job stopped before queueing: queued again.
    const { id: fourth } = await agent();
    const [p] = released(await submit(fourth));
    await submit(fourth);
    await actions.start(fourth, p, 1, 'job-p');
    const [q] = await actions.finish(fourth, p, 'succeeded');
    await actions.start(fourth, q, 1, 'job-p');
    await actions.finish(fourth, q, 'retrying', { error: 'tool down' });
    expect(await settle(fourth, p, 'job-p')).toEqual([]);
    expect(queued.pop()).toEqual([q]);

    // Its own action never started (its last attempt failed before the start): failed.
    const { id: third } = await agent();
    const [z] = released(await submit(third));
    expect(await settle(third, z, z)).toEqual([z]);
    expect((await actions.get(z))?.status).toBe('failed');
  });

  it("releases a reinstated agent's new action when its stale one is halted at start", async () => {
    const { id } = await agent();
    const old = await submit(id);
    const oldId = old.kind === 'ok' ? old.released[0] : '';
    await revocations.fenceMany([id], 'test', 'usr_x', 'inc_0000000000000004', false);
    await recordedIncident(redis, 'inc_0000000000000004');
    expect((await reinstate(id)).kind).toBe('active');
    // Epoch 3 now; the stale action still holds the agent's only running slot.
    const fresh = await submit(id, 3);
    expect(fresh).toEqual({ kind: 'ok', released: [] });
    const halted = await actions.start(id, oldId, 1, 'job-old');
    expect(halted.kind).toBe('halted');
    expect(halted.kind === 'halted' && halted.released).toHaveLength(1);
    // The job died before adding the new action's job: its re-run finds the stale one halted,
    // and follows what that released (as a finished action's re-run does).
    expect(await actions.start(id, oldId, 1, 'job-old')).toEqual({
      kind: 'done',
      status: 'halted',
    });
    expect(await actions.releasedBy(id, oldId)).toEqual(
      halted.kind === 'halted' && halted.released,
    );
  });

  it("releases again a reinstated agent's new action whose job a halting follow-up did not add", async () => {
    const { id } = await agent();
    const old = await submit(id);
    expect(old.kind === 'ok' && old.released).toHaveLength(1);
    const incidentId = 'inc_00000000000000c9';
    await fence(id, 'test', 'usr_x', incidentId);
    await recordedIncident(redis, incidentId);
    expect((await reinstate(id)).kind).toBe('active');
    const fresh = await submit(id, 3);
    expect(fresh).toEqual({ kind: 'ok', released: [] });
    const first = await actions.haltQueuedBatch(id, 200, 'revoked', incidentId, 1);
    expect(first).toMatchObject({ halted: 1, released: [expect.any(String)] });
    // The follow-up died before adding that job: its retry halts nothing, and releases it again.
    expect(await actions.haltQueuedBatch(id, 200, 'revoked', incidentId, 1)).toEqual({
      halted: 0,
      examined: 0,
      released: first.released,
    });
    // Once it runs, it is not released again.
    expect((await actions.start(id, first.released[0], 1, 'job-new')).kind).toBe('run');
    expect((await actions.haltQueuedBatch(id, 200, 'revoked', incidentId, 1)).released).toEqual([]);
    // Nor is the one its end releases, which its job runs inline (it has no job of its own).
    const after = await submit(id, 3);
    expect(after).toEqual({ kind: 'ok', released: [] });
    const next = await actions.finish(id, first.released[0], 'succeeded');
    expect(next).toHaveLength(1);
    expect((await actions.haltQueuedBatch(id, 200, 'revoked', incidentId, 1)).released).toEqual([]);
  });

  it("halts only what the epoch its stop revoked queued, leaving a later stop's to that stop", async () => {
    const { id } = await agent();
    const first = await submit(id, 1);
    await submit(id, 1);
    const [a, b] = ['inc_00000000000000b1', 'inc_00000000000000b2'];
    await fence(id, 'first', 'usr_x', a);
    await recordedIncident(redis, a);
    await redis.client.hset(redis.keys.incident(a), 'status', 'done');
    // Reinstated (epoch 3), new work queued, then stopped again before stop A's follow-up ran.
    expect((await reinstate(id)).kind).toBe('active');
    await submit(id, 3);
    await submit(id, 3);
    await fence(id, 'second', 'usr_x', b);

    // A's follow-up, late: its own two (one released, one pending), not B's.
    expect((await actions.haltQueuedBatch(id, 200, 'revoked', a, 1)).halted).toBe(2);
    expect((await actions.get(first.kind === 'ok' ? first.released[0] : ''))?.status).toBe(
      'halted',
    );
    expect(await actions.haltQueuedBatch(id, 200, 'revoked', a, 1)).toMatchObject({ halted: 0 });
    expect((await actions.followupCounts(id, a)).halted).toBe(2);
    // B's: the rest, counted on B.
    expect((await actions.haltQueuedBatch(id, 200, 'revoked', b, 3)).halted).toBe(2);
    expect((await actions.followupCounts(id, b)).halted).toBe(2);
    expect((await actions.followupCounts(id, a)).halted).toBe(2);
  });

  it('counts a halt at start on the stop that revoked its epoch, after a reinstatement and a new stop', async () => {
    const { id } = await agent();
    const submitted = await submit(id, 1);
    const stale = submitted.kind === 'ok' ? submitted.released[0] : '';
    const [a, b] = ['inc_00000000000000c7', 'inc_00000000000000c8'];
    await fence(id, 'first', 'usr_x', a);
    await recordedIncident(redis, a);
    await redis.client.hset(redis.keys.incident(a), 'status', 'done');
    expect((await reinstate(id)).kind).toBe('active');
    await fence(id, 'second', 'usr_x', b);
    // Its job starts only now: halted, and counted on the stop of epoch 1, not on the agent's.
    expect((await actions.start(id, stale, 1, 'job-1')).kind).toBe('halted');
    expect((await actions.followupCounts(id, a)).halted).toBe(1);
    expect((await actions.followupCounts(id, b)).halted).toBe(0);
  });

  it('halts an action waiting out a retry when its agent is revoked', async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    await actions.start(id, actionId, 1, 'job-1');
    await actions.finish(id, actionId, 'retrying', { error: 'tool down' });
    await revocations.fenceMany([id], 'test', 'usr_x', 'inc_0000000000000005', false);
    expect(
      await actions.haltQueuedBatch(id, 200, 'revoked', 'inc_0000000000000005', 1),
    ).toMatchObject({ halted: 1 });
    expect((await actions.get(actionId))?.status).toBe('halted');
  });

  it('counts an abort on the stop that asked for it, even after a reinstatement and a new stop', async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    await actions.start(id, actionId, 1, 'job-1');
    // Stopped (the abort goes out), reinstated and stopped again before the action ends.
    await revocations.fenceMany([id], 'first', 'usr_x', 'inc_0000000000000006', false);
    await recordedIncident(redis, 'inc_0000000000000006');
    expect((await reinstate(id)).kind).toBe('active');
    await revocations.fenceMany([id], 'second', 'usr_x', 'inc_0000000000000007', false);
    await actions.finish(id, actionId, 'aborted', {
      error: 'aborted by revocation',
      abortedBy: 'inc_0000000000000006',
    });
    expect((await actions.followupCounts(id, 'inc_0000000000000006')).aborted).toBe(1);
    expect((await actions.followupCounts(id, 'inc_0000000000000007')).aborted).toBe(0);
  });

  it('claims a rollback once, with its undo, and settles it once', async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    await actions.start(id, actionId, 1, 'job-1');
    await actions.finish(id, actionId, 'succeeded', { undo: { doc: 1 } });
    expect(await actions.claimRollback(id, actionId, 'inc_a')).toStrictEqual({
      kind: 'claimed',
      undo: { doc: 1 },
    });
    expect(await actions.claimRollback(id, actionId, 'inc_a')).toStrictEqual({
      kind: 'interrupted',
    });
    // A later stop's follow-up leaves it to the one compensating it.
    expect(await actions.claimRollback(id, actionId, 'inc_b')).toStrictEqual({ kind: 'elsewhere' });
    // Refused, the script answers without the undo (which may be a megabyte).
    expect(
      await runScript(
        redis.client,
        'ksClaimRollback',
        [redis.keys.action(id, actionId)],
        ['inc_b'],
      ),
    ).toEqual(['elsewhere']);
    expect(await actions.settleRollback(id, actionId, 'inc_a', 'rolled_back', 'ok')).toBe(true);
    expect(await actions.settleRollback(id, actionId, 'inc_a', 'rolled_back', 'ok')).toBe(false);
    expect(await actions.claimRollback(id, actionId, 'inc_b')).toStrictEqual({
      kind: 'not_eligible',
    });
    expect((await actions.followupCounts(id, 'inc_a')).rolledBack).toBe(1);
  });

  it('claims the rollback of an action that stored no undo', async () => {
    const { id } = await agent();
    const submitted = await submit(id);
    const actionId = submitted.kind === 'ok' ? submitted.released[0] : '';
    await actions.start(id, actionId, 1, 'job-1');
    await actions.finish(id, actionId, 'succeeded');
    expect(await actions.claimRollback(id, actionId, 'inc_a')).toStrictEqual({
      kind: 'claimed',
      undo: undefined,
    });
  });

  it('returns the first action for a repeated idempotency key', async () => {
    const { id } = await agent();
    const first = await submit(id, 1, 'same');
    const again = await submit(id, 1, 'same');
    expect(again).toMatchObject({ kind: 'existing', status: 'queued' });
    expect(first.kind).toBe('ok');
  });
});
