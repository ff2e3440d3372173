import type { Socket } from 'socket.io-client';
import { ActionTypesService, type ActionStatus } from '@app/actions';
import { IncidentsRepository } from '@app/incidents';
import { RedisService } from '@app/redis';
import { FollowupService, RevocationQueue, RevocationRepository } from '@app/revocation';
import { RunningApp, TestDeployment } from './support/apps';
import {
  agentWithLease,
  connected,
  createAgent,
  createUser,
  FINISHED_ACTION_STATUSES,
  issueLease,
  openAgentSocket,
  registerWebhookType,
  TestUser,
  waitForAction,
  waitForIncident,
  WebhookTypeOptions,
} from './support/factories';
import { Api } from './support/http';
import { waitFor } from './support/redis';
import { json, ToolServer } from './support/tool-server';

describe('the revocation engine', () => {
  const deployment = new TestDeployment({ actionBackoffMs: 50 });
  const tools = new ToolServer();
  let ks: RunningApp;
  let owner: TestUser;
  let otherOwner: TestUser;
  let responder: TestUser;

  beforeAll(async () => {
    await tools.start();
    ks = await deployment.killswitch();
    [owner, otherOwner, responder] = await Promise.all([
      createUser(ks, 'owner'),
      createUser(ks, 'owner'),
      createUser(ks, 'responder'),
    ]);
    const register = (type: string, options: WebhookTypeOptions) =>
      registerWebhookType(ks.admin, tools, type, { timeoutMs: 20_000, ...options });
    await register('mail.unarchive', { path: '/unarchive' });
    await register('mail.archive', {
      path: '/archive',
      reversible: true,
      compensation: 'mail.unarchive',
    });
    await register('mail.send', { path: '/send' });
    await register('slow.job', { path: '/slow' });
    tools.on('/archive', (request, response) =>
      json(response, 200, { undo: { messageId: request.body.params.messageId } }),
    );
  });

  /** Agents' sockets opened by tests here, closed at the end. */
  const openSockets: Socket[] = [];

  afterAll(async () => {
    openSockets.forEach((socket) => socket.close());
    await deployment.close();
    await tools.stop();
  });

  /** An agent that may run this spec's action types; `lease` carries its token. */
  const agentApi = async (api: Api, labels: Record<string, string> = {}) => {
    const { agent, asAgent } = await agentWithLease(api, {
      labels,
      allowedActions: ['mail.archive', 'mail.send', 'slow.job'],
      ttlSeconds: 120,
    });
    return { agent, lease: asAgent };
  };

  const actionOf = async (id: string) => (await ks.admin.get(`/v1/actions/${id}`)).body;
  const succeeded = (id: string) =>
    waitForAction(ks.admin, id, { until: ['succeeded'], timeoutMs: 10_000 });
  const incidentDone = (id: string, api: Api = ks.admin) =>
    waitForIncident(api, id, { timeoutMs: 30_000, intervalMs: 100 });

  /** Opens an agent's socket; answers the `lease.revoked` events it hears. */
  const listen = async (token: string, sockets: Socket[]): Promise<unknown[]> => {
    const told: unknown[] = [];
    const socket = openAgentSocket(ks.url, token, sockets);
    socket.on('lease.revoked', (event: unknown) => told.push(event));
    await connected(socket);
    return told;
  };

  /**
   * An agent with `count` slow.job actions submitted: the first runs and is never answered, the
   * rest wait behind it.
   */
  const withSlowJobs = async (count: number, labels: Record<string, string> = {}) => {
    tools.on('/slow', () => undefined);
    const { agent, lease } = await agentApi(owner.api, labels);
    const queued: string[] = [];
    for (let n = 0; n < count; n++) {
      queued.push((await lease.post('/v1/actions', { type: 'slow.job', params: { n } })).body.id);
    }
    return { agent, lease, queued };
  };
  /** An agent that archived `count` messages (`<tag>-1` first), all of them succeeded. */
  const withArchived = async (count: number, tag: string) => {
    const { agent, lease } = await agentApi(owner.api);
    const archived: string[] = [];
    for (let n = 1; n <= count; n++) {
      const params = { messageId: `${tag}-${n}` };
      archived.push((await lease.post('/v1/actions', { type: 'mail.archive', params })).body.id);
    }
    await succeeded(archived[count - 1]);
    return { agent, lease, archived };
  };
  /** The actions among `actionIds` whose compensations the tool server received, in order. */
  const compensated = (actionIds: string[]) =>
    tools
      .received('/unarchive')
      .map((r) => r.body.compensates)
      .filter((id) => actionIds.includes(id ?? ''));
  /** Each action ended by a stop: halted in the queue, or aborted while it ran. */
  const expectStopped = async (actionIds: string[]) => {
    for (const id of actionIds) {
      expect(['halted', 'aborted']).toContain((await actionOf(id)).status);
    }
  };
  /** Makes the next call of `method` fail, as if the process died there. */
  const failNext = <T extends object>(
    target: T,
    method: jest.FunctionPropertyNames<Required<T>>,
    error = new Error('the process died here'),
  ) => jest.spyOn(target, method).mockRejectedValueOnce(error as never);
  /** Sends `request` while `spies` stand in, then restores them. */
  const withSpies = async <R>(spies: jest.SpyInstance[], request: () => Promise<R>) => {
    try {
      return await request();
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
  };

  it('aborts the running action, halts the queue, rolls back newest first and reports', async () => {
    const { agent, lease, archived } = await withArchived(5, 'm');
    const sent = (await lease.post('/v1/actions', { type: 'mail.send', params: { to: 'x' } })).body
      .id;
    await succeeded(sent);

    tools.on('/slow', () => undefined); // never answers: only the abort can end it
    const slow = (await lease.post('/v1/actions', { type: 'slow.job', params: {} })).body.id;
    const queued: string[] = [];
    for (let n = 0; n < 50; n++) {
      queued.push((await lease.post('/v1/actions', { type: 'mail.send', params: { n } })).body.id);
    }
    await waitFor(() => tools.received('/slow').length === 1, 10_000, 'the slow action to start');

    const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'runaway' });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      incidentId: expect.stringMatching(/^inc_/),
      agents: 1,
      agentIds: [agent.id],
      revokedAt: expect.any(String),
    });

    const incident = await incidentDone(revoked.body.incidentId);
    expect((await actionOf(slow)).status).toBe('aborted');
    for (const id of queued) {
      expect((await actionOf(id)).status).toBe('halted');
    }
    // Compensations, newest first, each with the undo its action stored.
    const undone = tools.received('/unarchive');
    expect(undone.map((r) => r.body.params)).toEqual(
      [5, 4, 3, 2, 1].map((n) => ({ messageId: `m-${n}` })),
    );
    expect(undone.map((r) => r.body.compensates)).toEqual([...archived].reverse());
    expect(undone.every((r) => r.signatureValid)).toBe(true);
    for (const id of archived) {
      expect((await actionOf(id)).status).toBe('rolled_back');
    }
    expect(incident).toMatchObject({
      status: 'done',
      reason: 'runaway',
      agents: 1,
      agentIds: [agent.id],
      openedBy: { userId: owner.id, role: 'owner' },
      openedFrom: { via: 'api' },
      counts: { fenced: 1, halted: 50, aborted: 1, rolledBack: 5, needsReview: 2 },
      progress: { done: 1, total: 1 },
    });
    expect(incident.needsReview).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actionId: sent, why: expect.stringMatching(/irreversible/) }),
        expect.objectContaining({ actionId: slow, why: expect.stringMatching(/aborted/) }),
      ]),
    );
    const steps = incident.timeline.map((e: { step: string }) => e.step);
    expect(steps).toEqual(
      expect.arrayContaining(['revoke', 'fence', 'halt', 'abort', 'rollback', 'follow-up']),
    );
    for (const entry of incident.timeline) {
      expect(entry.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }

    // Revoking again changes nothing and answers with the same incident.
    const again = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'again' });
    expect(again.body).toMatchObject({ incidentId: revoked.body.incidentId, alreadyRevoked: true });
    expect(tools.received('/unarchive')).toHaveLength(5);

    const report = await ks.admin.get(`/v1/incidents/${revoked.body.incidentId}?format=md`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/text\/markdown/);
    expect(report.body).toContain(`# Incident ${revoked.body.incidentId}`);
    expect(report.body).toContain('5 rolled back');
  });

  // Redis fails one read of the catalog during the follow-up: that says nothing about the type.
  // The follow-up is retried; neither an action taken for irreversible nor a compensation
  // claimed and never sent (read before the claim, so not left "interrupted").
  it.each([
    ["the action's type", 'mail.archive', ['mail.archive', 'mail.archive']],
    [
      "the compensation's type",
      'mail.unarchive',
      ['mail.archive', 'mail.unarchive', 'mail.archive'],
    ],
  ])('retries a follow-up whose read of %s failed', async (_what, failing, before) => {
    const { agent, archived } = await withArchived(2, 'c');
    const types = ks.app.get(ActionTypesService, { strict: false });
    const read = types.find.bind(types);
    let failed = false;
    const find = jest.spyOn(types, 'find').mockImplementation((type) => {
      if (type === failing && !failed) {
        failed = true;
        return Promise.reject(new Error('Connection is closed.'));
      }
      return read(type);
    });
    const incident = await withSpies([find], async () => {
      const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'catalog' });
      expect(revoked.status).toBe(200);
      const done = await incidentDone(revoked.body.incidentId);
      // The failed read, then the retry: the action's type once, its compensation's for each.
      expect(find.mock.calls.map(([type]) => type)).toEqual([
        ...before,
        'mail.unarchive',
        'mail.unarchive',
      ]);
      return done;
    });
    expect(incident.counts).toMatchObject({ rolledBack: 2, needsReview: 0 });
    expect(compensated(archived)).toEqual([...archived].reverse());
  });

  // The follow-up dies between a step's ledger write and its timeline entry (here: the entry's
  // write fails). Run again, it finds that step done and nothing left to do: it still records
  // it, from the ledger, once, beside the entries the first run did write.
  it.each(['halt', 'abort', 'rollback'])(
    'records the %s step of a follow-up that died before recording it, once',
    async (failing) => {
      const { agent, lease, archived } = await withArchived(2, `t-${failing}`);
      tools.on('/slow', () => undefined);
      const slow = (await lease.post('/v1/actions', { type: 'slow.job', params: {} })).body.id;
      for (let n = 0; n < 3; n++) {
        await lease.post('/v1/actions', { type: 'mail.send', params: { n } });
      }
      await waitFor(
        async () => (await actionOf(slow)).status === 'running',
        10_000,
        'the slow action to start',
      );
      const incidents = ks.app.get(IncidentsRepository, { strict: false });
      const record = incidents.agentProgress.bind(incidents);
      let failed = false;
      const progress = jest
        .spyOn(incidents, 'agentProgress')
        .mockImplementation((incidentId, agentId, counts, steps) => {
          const names = [
            ...(steps.halts ? ['halt'] : []),
            ...(steps.entries ?? []).map((s) => s.entry.step),
          ];
          if (!failed && agentId === agent.id && names.includes(failing)) {
            failed = true;
            return Promise.reject(new Error('the process died here'));
          }
          return record(incidentId, agentId, counts, steps);
        });
      const incident = await withSpies([progress], async () => {
        const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'late' });
        expect(revoked.status).toBe(200);
        return incidentDone(revoked.body.incidentId);
      });
      expect(failed).toBe(true);
      expect(incident.counts).toMatchObject({ halted: 3, aborted: 1, rolledBack: 2 });

      const entries = (step: string) =>
        incident.timeline.filter((e: { step: string }) => e.step === step);
      expect(entries('halt')).toEqual([
        expect.objectContaining({ agentId: agent.id, outcome: '3 queued actions halted' }),
      ]);
      expect(entries('abort')).toEqual([
        expect.objectContaining({ actionId: slow, outcome: 'aborted' }),
      ]);
      expect(
        entries('rollback')
          .map((e: { actionId: string }) => e.actionId)
          .sort(),
      ).toEqual([...archived].sort());
      // The step whose entry was lost says it was recorded late; the others do not.
      const late = incident.timeline.filter((e: { detail?: string }) =>
        e.detail?.includes('recorded after its follow-up resumed'),
      );
      expect(late).toEqual([expect.objectContaining({ step: failing })]);
      // Each compensation was still sent once.
      expect(compensated(archived)).toEqual([...archived].reverse());
    },
  );

  it('lists for review an action whose type was deleted from the catalog since', async () => {
    const type = `mail.label-${Date.now()}`;
    await registerWebhookType(ks.admin, tools, type, {
      path: '/archive',
      reversible: true,
      compensation: 'mail.unarchive',
    });
    const { agent, asAgent } = await agentWithLease(owner.api, {
      allowedActions: [type],
      ttlSeconds: 120,
    });
    const id = (await asAgent.post('/v1/actions', { type, params: { messageId: 'gone' } })).body.id;
    await succeeded(id);
    expect((await ks.admin.delete(`/v1/action-types/${type}`)).status).toBe(200);
    const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'deleted' });
    const incident = await incidentDone(revoked.body.incidentId);
    expect(incident.counts).toMatchObject({ rolledBack: 0, needsReview: 1 });
    expect(incident.needsReview).toEqual([
      expect.objectContaining({
        actionId: id,
        why: `its type ${type} is no longer in the catalog: it was not rolled back`,
      }),
    ]);
  });

  it("moves the incident's counts and review list as each step is done, before the follow-up ends", async () => {
    const { agent, lease, archived } = await withArchived(2, 'p');
    tools.on('/slow', () => undefined);
    const slowBefore = tools.received('/slow').length;
    const slow = (await lease.post('/v1/actions', { type: 'slow.job', params: {} })).body.id;
    for (let n = 0; n < 3; n++) {
      await lease.post('/v1/actions', { type: 'mail.send', params: { n } });
    }
    await waitFor(() => tools.received('/slow').length > slowBefore, 10_000, 'the slow job');
    // The newest action's compensation fails; the next one waits until the test lets it answer.
    let answer = () => {};
    const held = new Promise<void>((resolve) => (answer = resolve));
    tools.on('/unarchive', async (request, response) => {
      if (request.body.compensates === archived[1]) {
        json(response, 500, { error: 'mailbox locked' });
        return;
      }
      await held;
      json(response, 200, { result: { ok: true } });
    });
    try {
      const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'watch' });
      const incidentId = revoked.body.incidentId;
      await waitFor(
        () => compensated([archived[0]]).length > 0,
        10_000,
        'the second compensation to be sent, once the first failed',
      );
      // Halted, aborted, and what needs review so far are on the incident while the second
      // compensation is still waiting.
      const during = (await ks.admin.get(`/v1/incidents/${incidentId}`)).body;
      expect(during).toMatchObject({
        status: 'following_up',
        counts: { fenced: 1, halted: 3, aborted: 1, rolledBack: 0, needsReview: 2 },
        progress: { done: 0, total: 1 },
      });
      const listed = [
        expect.objectContaining({ actionId: slow, why: expect.stringContaining('aborted') }),
        expect.objectContaining({ actionId: archived[1], type: 'mail.archive' }),
      ];
      expect(during.needsReview).toEqual(expect.arrayContaining(listed));
      answer();
      // The final report adds only what the steps did not: nothing is counted or listed twice.
      const done = await incidentDone(incidentId);
      expect(done.counts).toEqual({
        fenced: 1,
        halted: 3,
        aborted: 1,
        rolledBack: 1,
        needsReview: 2,
      });
      expect(done.needsReview).toHaveLength(2);
      expect(done.needsReview).toEqual(expect.arrayContaining(listed));
    } finally {
      answer();
      tools.off('/unarchive');
    }
  });

  it('fences once and compensates once when several people stop the same agent at the same time', async () => {
    const { agent, lease } = await agentApi(owner.api);
    const archived: string[] = [];
    for (const n of [1, 2, 3]) {
      const params = { messageId: `together-${n}` };
      archived.push((await lease.post('/v1/actions', { type: 'mail.archive', params })).body.id);
    }
    await Promise.all(archived.map(succeeded));

    const singles = await Promise.all([
      owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'owner' }),
      responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'responder' }),
      ks.admin.post(`/v1/agents/${agent.id}/revoke`, { reason: 'admin' }),
      owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'owner, twice' }),
    ]);
    const bulk = await responder.api.post('/v1/revocations', {
      selector: { agentIds: [agent.id] },
      reason: 'bulk',
    });

    // One stop fenced it; every other answered with that stop's incident.
    expect(singles.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const fencedBy = singles.filter((r) => !r.body.alreadyRevoked);
    expect(fencedBy).toHaveLength(1);
    const incidentId = fencedBy[0].body.incidentId as string;
    expect(singles.map((r) => r.body.incidentId)).toEqual(Array(4).fill(incidentId));
    expect(singles.map((r) => r.body.epoch)).toEqual([2, 2, 2, 2]);
    expect(bulk.body.alreadyRevokedIds).toEqual([agent.id]);

    const incident = await incidentDone(incidentId);
    expect(incident.counts).toMatchObject({ fenced: 1, rolledBack: 3 });
    expect(compensated(archived)).toEqual([...archived].reverse());
    expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body).toMatchObject({
      status: 'revoked',
      epoch: 2,
      incidentId,
    });
  });

  it('rolls back nothing with rollback "none", and lists the owner\'s incidents to the owner only', async () => {
    const { agent, lease } = await agentApi(owner.api);
    const id = (
      await lease.post('/v1/actions', { type: 'mail.archive', params: { messageId: 'keep' } })
    ).body.id;
    await succeeded(id);
    const before = tools.received('/unarchive').length;
    const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, {
      reason: 'no rollback',
      rollback: 'none',
    });
    const incident = await incidentDone(revoked.body.incidentId, owner.api);
    expect(incident.counts.rolledBack).toBe(0);
    expect(tools.received('/unarchive')).toHaveLength(before);
    expect((await actionOf(id)).status).toBe('succeeded');

    const mine = (await owner.api.get('/v1/incidents')).body.items.map((i: { id: string }) => i.id);
    expect(mine).toContain(revoked.body.incidentId);
    const theirs = (await otherOwner.api.get('/v1/incidents')).body.items.map(
      (i: { id: string }) => i.id,
    );
    expect(theirs).not.toContain(revoked.body.incidentId);
    expect((await otherOwner.api.get(`/v1/incidents/${revoked.body.incidentId}`)).status).toBe(403);

    const resolved = await responder.api.post(`/v1/incidents/${revoked.body.incidentId}/resolve`, {
      note: 'agent retired',
    });
    expect(resolved.status).toBe(201);
    expect(resolved.body).toMatchObject({ status: 'resolved', note: 'agent retired' });
    expect(
      (await owner.api.post(`/v1/incidents/${revoked.body.incidentId}/resolve`, { note: 'x' }))
        .status,
    ).toBe(403);
  });

  it("rolls back only the revoked epoch's actions by default, or those since a given time", async () => {
    const { agent, lease } = await agentApi(owner.api);
    const archive = async (api: Api, messageId: string) => {
      const id = (await api.post('/v1/actions', { type: 'mail.archive', params: { messageId } }))
        .body.id as string;
      await succeeded(id);
      return id;
    };
    const undoneIds = () =>
      tools.received('/unarchive').map((r) => r.body.params.messageId as string);
    const stop = async (body: Record<string, unknown>) => {
      const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, body);
      expect(revoked.status).toBe(200);
      return incidentDone(revoked.body.incidentId);
    };
    const again = async () => {
      expect(
        (await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'fixed' })).status,
      ).toBe(200);
      return api(await issueLease(owner.api, agent.id, 120));
    };
    const api = (issued: { token: string }) => owner.api.as(issued.token);

    const first = await archive(lease, `epoch1-${agent.id}`);
    await stop({ reason: 'keep epoch 1', rollback: 'none' });
    const second = await archive(await again(), `epoch2-${agent.id}`);
    // Default window: the epoch just revoked. What the agent did before stays done.
    const byDefault = await stop({ reason: 'epoch 2 only' });
    expect(byDefault.counts.rolledBack).toBe(1);
    expect(undoneIds()).toContain(`epoch2-${agent.id}`);
    expect(undoneIds()).not.toContain(`epoch1-${agent.id}`);
    expect((await actionOf(first)).status).toBe('succeeded');
    expect((await actionOf(second)).status).toBe('rolled_back');

    // {since}: everything done since then, across epochs; what was undone is not undone twice.
    const since = new Date(Date.now() - 60_000).toISOString();
    const third = await archive(await again(), `epoch3-${agent.id}`);
    const bySince = await stop({ reason: 'the last minute', rollback: { since } });
    expect(bySince.counts.rolledBack).toBe(2);
    expect((await actionOf(first)).status).toBe('rolled_back');
    expect((await actionOf(third)).status).toBe('rolled_back');
    expect(undoneIds().filter((id) => id === `epoch2-${agent.id}`)).toHaveLength(1);
  });

  it('resolves an incident only once it is done, unless an admin forces it', async () => {
    const { agent } = await agentApi(owner.api);
    const followup = ks.app.get(FollowupService, { strict: false });
    // A follow-up that hangs (until the end of the test): the incident stays following_up.
    let release!: () => void;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    const stuck = jest.spyOn(followup, 'followAgent').mockReturnValue(hanging);
    try {
      const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'x' });
      const incidentId = revoked.body.incidentId as string;
      const path = `/v1/incidents/${incidentId}/resolve`;
      const early = await responder.api.post(path, { note: 'too soon' });
      expect(early.status).toBe(409);
      expect(early.body.message).toMatch(/still following up \(following_up\)/);
      expect((await responder.api.post(path, { note: 'stuck', force: true })).status).toBe(403);
      const forced = await ks.admin.post(path, { note: 'stuck', force: true });
      expect(forced.status).toBe(201);
      expect(forced.body.status).toBe('resolved');
      expect(forced.body.timeline.at(-1)).toMatchObject({
        step: 'resolve',
        outcome: 'resolved while following_up (forced)',
      });
    } finally {
      release();
      stuck.mockRestore();
    }
  });

  it('lists an aborted action for review on the stop that aborted it, not on the next one', async () => {
    const { agent, queued } = await withSlowJobs(1);
    const [slow] = queued;
    await waitFor(
      async () => (await actionOf(slow)).status === 'running',
      10_000,
      'the slow job to run',
    );
    const first = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'first' });
    expect((await incidentDone(first.body.incidentId)).needsReview).toEqual([
      expect.objectContaining({ actionId: slow, why: expect.stringMatching(/^aborted mid-way/) }),
    ]);

    // Back, and stopped again at once: within a second of that abort.
    await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'false alarm' });
    const lease = owner.api.as((await issueLease(owner.api, agent.id, 60)).token);
    const sent = (await lease.post('/v1/actions', { type: 'mail.send' })).body.id as string;
    await succeeded(sent);
    const second = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'again' });
    const incident = await incidentDone(second.body.incidentId);
    expect(incident.counts).toMatchObject({ aborted: 0, needsReview: 1 });
    expect(incident.needsReview).toEqual([
      expect.objectContaining({ actionId: sent, why: 'irreversible: it cannot be rolled back' }),
    ]);
  });

  it('leaves a rollback an earlier stop is still sending to that stop, listing it meanwhile', async () => {
    const { agent, lease } = await agentApi(owner.api);
    const messageId = `held-${agent.id}`;
    const mine = () =>
      tools.received('/unarchive').filter((r) => r.body.params.messageId === messageId);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    tools.on('/unarchive', async (request, response) => {
      if (request.body.params.messageId === messageId) {
        await held;
      }
      json(response, 200, { result: { ok: true } });
    });
    try {
      const archived = (
        await lease.post('/v1/actions', { type: 'mail.archive', params: { messageId } })
      ).body.id as string;
      await succeeded(archived);
      const first = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'first' });
      await waitFor(() => mine().length > 0, 10_000, 'the first stop compensating');
      // Reinstated while the first stop still compensates, then stopped again with a window
      // that takes the same action in.
      const reinstated = await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, {
        reason: 'fixed',
      });
      expect(reinstated.status).toBe(200);
      const since = new Date(Date.now() - 60_000).toISOString();
      const second = await owner.api.post(`/v1/agents/${agent.id}/revoke`, {
        reason: 'second',
        rollback: { since },
      });
      const secondDone = await incidentDone(second.body.incidentId);
      expect(secondDone.counts.rolledBack).toBe(0);
      expect(secondDone.needsReview).toEqual([
        expect.objectContaining({
          actionId: archived,
          why: expect.stringContaining(`left to incident ${first.body.incidentId}`),
        }),
      ]);

      release();
      const firstDone = await incidentDone(first.body.incidentId);
      expect(firstDone.counts.rolledBack).toBe(1);
      expect((await actionOf(archived)).status).toBe('rolled_back');
      expect(mine()).toHaveLength(1);
    } finally {
      release();
      tools.off('/unarchive');
    }
  });

  it('finishes an incident whose agent follow-up gave up, listing the agent for review', async () => {
    const { agent } = await agentApi(owner.api);
    const followup = ks.app.get(FollowupService, { strict: false });
    const failing = jest
      .spyOn(followup, 'followAgent')
      .mockRejectedValue(new Error('tool server unreachable'));
    try {
      const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'x' });
      const incidentId = revoked.body.incidentId as string;
      await waitFor(() => failing.mock.calls.length > 0, 10_000, 'a failed follow-up');
      // What the worker does once the job's last retry has failed.
      await followup.gaveUp(
        { kind: 'agent', incidentId, agentId: agent.id, revokedEpoch: 1 },
        'tool server unreachable',
      );
      const incident = await incidentDone(incidentId);
      expect(incident.needsReview).toEqual([
        expect.objectContaining({ agentId: agent.id, why: expect.stringMatching(/gave up/) }),
      ]);
    } finally {
      failing.mockRestore();
    }
  });

  it('records, as it gives up, a step its follow-up did but did not record', async () => {
    const { agent, archived } = await withArchived(2, 'g');
    const followup = ks.app.get(FollowupService, { strict: false });
    const incidents = ks.app.get(IncidentsRepository, { strict: false });
    // The first run dies right after its first rollback, before that rollback's entry; every
    // run after it fails at once, until the job gives up.
    const record = incidents.agentProgress.bind(incidents);
    const progress = jest
      .spyOn(incidents, 'agentProgress')
      .mockImplementation((incidentId, agentId, counts, steps) =>
        agentId === agent.id &&
        steps.entries?.some(
          (s) => s.entry.step === 'rollback' && !s.entry.detail?.includes('resumed'),
        )
          ? Promise.reject(new Error('the process died here'))
          : record(incidentId, agentId, counts, steps),
      );
    const follow = followup.followAgent.bind(followup);
    let runs = 0;
    const failing = jest
      .spyOn(followup, 'followAgent')
      .mockImplementation((...args) =>
        runs++ === 0 ? follow(...args) : Promise.reject(new Error('tool server unreachable')),
      );
    const incident = await withSpies([progress, failing], async () => {
      const revoked = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'g' });
      const incidentId = revoked.body.incidentId as string;
      await waitFor(() => runs > 1, 10_000, 'the first run to fail');
      expect((await actionOf(archived[1])).status).toBe('rolled_back');
      // What the worker does once the job's last retry has failed.
      await followup.gaveUp(
        { kind: 'agent', incidentId, agentId: agent.id, revokedEpoch: 1 },
        'tool server unreachable',
      );
      return incidentDone(incidentId);
    });
    expect(incident.counts).toMatchObject({ rolledBack: 1, needsReview: 1 });
    expect(incident.timeline.filter((e: { step: string }) => e.step === 'rollback')).toEqual([
      expect.objectContaining({
        actionId: archived[1],
        outcome: 'rolled back',
        detail: expect.stringContaining('recorded after its follow-up resumed'),
      }),
    ]);
  });

  it("does not stop again an agent reinstated before its stop's follow-up ran", async () => {
    const single = (await agentApi(owner.api)).agent;
    const inBulk = (await agentApi(owner.api)).agent;
    const stopped = [
      await responder.api.post(`/v1/agents/${single.id}/revoke`, { reason: 'oops' }),
      await responder.api.post('/v1/revocations', {
        selector: { agentIds: [inBulk.id] },
        reason: 'oops',
      }),
    ];
    for (const agent of [single, inBulk]) {
      expect(
        (await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'mistake' })).status,
      ).toBe(200);
    }
    for (const reply of stopped) {
      expect(reply.status).toBe(200);
      await incidentDone(reply.body.incidentId);
    }
    for (const agent of [single, inBulk]) {
      expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body).toMatchObject({
        status: 'active',
        epoch: 3,
      });
    }
  });

  it('follows up an agent of a large stop reinstated before the fan-out ran, leaving its new work alone', async () => {
    const label = { fleet: `reinstated-${Date.now()}` };
    const { agent, lease } = await agentApi(owner.api, label);
    const since = new Date().toISOString();
    const archived = (
      await lease.post('/v1/actions', { type: 'mail.archive', params: { messageId: 'r-1' } })
    ).body.id as string;
    await succeeded(archived);
    // Over the inline limit (100 agents): the call leaves its agents to one fan-out job.
    await Promise.all(Array.from({ length: 100 }, () => createAgent(owner.api, { labels: label })));
    const followup = ks.app.get(FollowupService, { strict: false });
    const fanOut = followup.followIncident.bind(followup);
    let release!: () => void;
    const reinstated = new Promise<void>((resolve) => (release = resolve));
    const held = jest
      .spyOn(followup, 'followIncident')
      .mockImplementationOnce(async (incidentId) => {
        await reinstated;
        return fanOut(incidentId);
      });
    const sockets: Socket[] = [];
    try {
      // The widest rollback window: it must still stop at the revoked epoch.
      const stopped = await responder.api.post('/v1/revocations', {
        selector: { labels: label },
        reason: 'fleet compromised',
        rollback: { since },
      });
      expect(stopped.status).toBe(200);
      expect(stopped.body.agents).toBe(101);
      await waitFor(() => held.mock.calls.length > 0, 10_000, 'the fan-out to start');
      const back = await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'not it' });
      expect(back.status).toBe(200);

      // Back at work under epoch 3: an archive done, a slow job running, a live socket.
      const renewed = await issueLease(owner.api, agent.id, 120);
      const again = owner.api.as(renewed.token);
      const archivedAgain = (
        await again.post('/v1/actions', { type: 'mail.archive', params: { messageId: 'r-2' } })
      ).body.id as string;
      await succeeded(archivedAgain);
      tools.on('/slow', () => undefined); // never answers: only an abort ends it
      const slowBefore = tools.received('/slow').length;
      const slow = (await again.post('/v1/actions', { type: 'slow.job', params: {} })).body.id;
      await waitFor(() => tools.received('/slow').length > slowBefore, 10_000, 'the slow job');
      const socket = openAgentSocket(ks.url, renewed.token, sockets);
      const told: unknown[] = [];
      socket.on('lease.revoked', (event: unknown) => told.push(event));
      await connected(socket);
      release();

      // Every agent the call fenced is followed up, the reinstated one included: the incident
      // finishes and what it did under the revoked epoch is rolled back. Its new work is left
      // alone: not told to stop, not aborted, not rolled back.
      const incident = await incidentDone(stopped.body.incidentId);
      expect(incident.counts.fenced).toBe(101);
      expect(incident.progress).toEqual({ done: 101, total: 101 });
      expect((await actionOf(archived)).status).toBe('rolled_back');
      expect(
        tools.received('/unarchive').filter((r) => r.body.compensates === archived),
      ).toHaveLength(1);
      expect((await actionOf(archivedAgain)).status).toBe('succeeded');
      expect((await actionOf(slow)).status).toBe('running');
      expect(told).toEqual([]);
      expect(await again.post('/v1/leases/heartbeat', {})).toMatchObject({ status: 200 });
      expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body).toMatchObject({
        status: 'active',
        epoch: 3,
      });

      // Stopped for good: the slow job is aborted.
      const last = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'done' });
      await incidentDone(last.body.incidentId);
      expect((await actionOf(slow)).status).toBe('aborted');
    } finally {
      held.mockRestore();
      sockets.forEach((socket) => socket.close());
    }
  });

  it('sends only the newest timeline entries when asked, and how many there are in all', async () => {
    const { agent } = await agentApi(owner.api);
    const stop = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'tail' });
    const id = stop.body.incidentId as string;
    const full = await incidentDone(id);
    expect(full.timeline.length).toBeGreaterThanOrEqual(3);
    expect(full.timelineTotal).toBe(full.timeline.length);
    const tail = (await responder.api.get(`/v1/incidents/${id}?timeline=2`)).body;
    expect(tail.timeline).toEqual(full.timeline.slice(-2));
    expect(tail.timelineTotal).toBe(full.timeline.length);
    expect(tail.counts).toEqual(full.counts);
    expect((await responder.api.get(`/v1/incidents/${id}?timeline=0`)).body.timeline).toEqual([]);
    await expectCountRefused(id, 'timeline');
  });

  it('sends only the first review items when asked, and how many there are in all', async () => {
    const { agent } = await agentApi(owner.api);
    const stop = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'review' });
    const id = stop.body.incidentId as string;
    const full = await incidentDone(id);
    expect(full.reviewTotal).toBe(full.needsReview.length);
    const items = [1, 2, 3].map((n) => ({ agentId: agent.id, why: `check ${n}` }));
    // Review items as a follow-up writes them, so that the list has some to cut.
    const redis = ks.app.get(RedisService, { strict: false });
    await redis.client.rpush(
      redis.keys.incidentReview(id),
      ...items.map((item) => JSON.stringify(item)),
    );
    const head = (await responder.api.get(`/v1/incidents/${id}?review=2`)).body;
    expect(head.needsReview).toEqual([...full.needsReview, ...items].slice(0, 2));
    expect(head.reviewTotal).toBe(full.needsReview.length + 3);
    expect(head.timeline).toEqual(full.timeline);
    expect((await responder.api.get(`/v1/incidents/${id}?review=0`)).body.needsReview).toEqual([]);
    await expectCountRefused(id, 'review');
  });

  it('sends only the first agent ids when asked, beside the number of agents', async () => {
    const agents = await Promise.all([1, 2, 3].map(() => agentApi(owner.api)));
    const stop = await responder.api.post('/v1/revocations', {
      selector: { agentIds: agents.map(({ agent }) => agent.id) },
      reason: 'agents',
    });
    const id = stop.body.incidentId as string;
    const full = await incidentDone(id);
    expect(full.agents).toBe(3);
    expect([...full.agentIds].sort()).toEqual(agents.map(({ agent }) => agent.id).sort());
    const head = (await responder.api.get(`/v1/incidents/${id}?agents=2`)).body;
    expect(head.agentIds).toEqual(full.agentIds.slice(0, 2));
    expect(head.agents).toBe(3);
    expect(head.timeline).toEqual(full.timeline);
    expect(head.needsReview).toEqual(full.needsReview);
    const none = (await responder.api.get(`/v1/incidents/${id}?agents=0`)).body;
    expect(none.agentIds).toEqual([]);
    expect(none.agents).toBe(3);
    expect((await responder.api.get(`/v1/incidents/${id}?agents=10`)).body.agentIds).toEqual(
      full.agentIds,
    );
    await expectCountRefused(id, 'agents');
  });

  /** A count parameter of an incident's view refuses anything but 0 to 10000, with one reason. */
  async function expectCountRefused(incidentId: string, name: 'timeline' | 'review' | 'agents') {
    for (const bad of ['-1', 'x', '1.5', '10001', '', '0x10', '1e3']) {
      const reply = await responder.api.get(`/v1/incidents/${incidentId}?${name}=${bad}`);
      expect(reply.status).toBe(400);
      expect(reply.body.message).toBe(`${name} must be a whole number from 0 to 10000`);
    }
  }

  it("keeps only known agents on a bulk stop's incident, and says which ids were not found", async () => {
    const { agent } = await agentApi(owner.api);
    const unknown = 'agt_00000000000000ff';
    const dry = await responder.api.post('/v1/revocations', {
      selector: { agentIds: [agent.id, unknown] },
      reason: 'mixed',
      dryRun: true,
    });
    expect(dry.body).toEqual({
      dryRun: true,
      agents: 1,
      wouldRevoke: 1,
      agentIds: [agent.id],
      alreadyRevokedIds: [],
      missingIds: [unknown],
    });
    const stopped = await responder.api.post('/v1/revocations', {
      selector: { agentIds: [agent.id, unknown] },
      reason: 'mixed',
    });
    expect(stopped.body).toMatchObject({ agents: 1, agentIds: [agent.id], missingIds: [unknown] });
    const incident = await incidentDone(stopped.body.incidentId);
    expect(incident).toMatchObject({ agents: 1, agentIds: [agent.id], counts: { fenced: 1 } });
    const fence = incident.timeline.find((e: { step: string }) => e.step === 'fence');
    expect(fence.detail).toMatch(/1 not found/);
    // Once stopped, a dry run still counts the agent, but would revoke none.
    const again = await responder.api.post('/v1/revocations', {
      selector: { agentIds: [agent.id] },
      reason: 'again',
      dryRun: true,
    });
    expect(again.body).toMatchObject({ agents: 1, wouldRevoke: 0, alreadyRevokedIds: [agent.id] });
  });

  it('tells each agent of a bulk stop whose unknown ids put it over the inline limit', async () => {
    // 1 agent and 101 ids of none: the call leaves telling to the follow-up (over 100 ids),
    // whose incident then counts 1 agent.
    const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 120 });
    const told = await listen(lease.token, openSockets);
    const unknown = Array.from(
      { length: 101 },
      (_, i) => `agt_${(0xfeed000000000000n + BigInt(i)).toString(16)}`,
    );
    const stopped = await responder.api.post('/v1/revocations', {
      selector: { agentIds: [agent.id, ...unknown] },
      reason: 'mixed, over the limit',
    });
    expect(stopped.body).toMatchObject({ agents: 1, agentIds: [agent.id] });
    await incidentDone(stopped.body.incidentId);
    await waitFor(() => told.length > 0, 5000, 'lease.revoked');
    expect(told).toEqual([
      expect.objectContaining({ agentId: agent.id, incidentId: stopped.body.incidentId }),
    ]);
  });

  /** The newest incidents' ids (a stop that opens none leaves them as they were). */
  const incidentIds = async (): Promise<string[]> =>
    (await responder.api.get('/v1/incidents?limit=100')).body.items.map(
      (i: { id: string }) => i.id,
    );

  it('answers a bulk stop of agents all revoked already with the incident that stopped them, opening none', async () => {
    const { agent } = await agentApi(owner.api);
    const first = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'first' });
    const incidentsBefore = await incidentIds();
    const redis = ks.app.get(RedisService, { strict: false });
    const tombstones = () => redis.client.keys(redis.keys.incidentDiscarded('*'));
    const tombstonesBefore = await tombstones();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await responder.api.post('/v1/revocations', {
      selector: { agentIds: [agent.id] },
      reason: 'second',
    });
    // Its agents were stopped when the first stop fenced them, not now, and by that stop.
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      incidentId: first.body.incidentId,
      agents: 1,
      alreadyRevokedIds: [agent.id],
      revokedAt: first.body.revokedAt,
    });
    expect(await incidentIds()).toEqual(incidentsBefore);

    // A fan-out the sweeper queued for that call (taking it for dead) arrives after the discard,
    // once the agent is active again: it fences nothing and writes nothing back.
    const [discarded] = (await tombstones()).filter((key) => !tombstonesBefore.includes(key));
    const discardedId = /\{(inc_[0-9a-f]+)\}/.exec(discarded)?.[1] as string;
    expect(discardedId).toMatch(/^inc_/);
    await incidentDone(first.body.incidentId);
    expect((await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'ok' })).status).toBe(
      200,
    );
    const followup = ks.app.get(FollowupService, { strict: false });
    await followup.followIncident(discardedId);
    // Nor does a follow-up that gives up on it (as one queued before its call wrote it would).
    await followup.gaveUp({ kind: 'incident', incidentId: discardedId }, 'gave up');
    await followup.gaveUp(
      { kind: 'agent', incidentId: discardedId, agentId: agent.id, revokedEpoch: 1 },
      'gave up',
    );
    expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body.status).toBe('active');
    expect((await responder.api.get(`/v1/incidents/${discardedId}`)).status).toBe(404);
    expect(await redis.client.keys(`${deployment.config.keyPrefix}:{${discardedId}}:*`)).toEqual([
      discarded,
    ]);
  });

  it('pages incidents with no cursor to an empty page', async () => {
    const loner = await createUser(ks, 'owner');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { agent } = await agentApi(loner.api);
      ids.unshift((await loner.api.post(`/v1/agents/${agent.id}/revoke`, {})).body.incidentId);
    }
    const first = (await loner.api.get('/v1/incidents?limit=1')).body;
    expect(first.items.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    const second = (
      await loner.api.get(`/v1/incidents?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`)
    ).body;
    // Full, and the last: no cursor to an empty third page.
    expect(second).toEqual({ items: [expect.objectContaining({ id: ids[1] })], nextCursor: null });
  });

  it('answers 404 to a bulk stop of ids of no agent, and records nothing', async () => {
    const incidentsBefore = await incidentIds();
    const redis = ks.app.get(RedisService, { strict: false });
    const discarded = () => redis.client.keys(redis.keys.incidentDiscarded('*'));
    const discardedBefore = await discarded();
    const unknown = ['agt_00000000000000fe', 'agt_00000000000000fd'];
    const stop = await responder.api.post('/v1/revocations', {
      selector: { agentIds: unknown },
      reason: 'typo',
    });
    expect(stop.status).toBe(404);
    expect(stop.body).toMatchObject({ missingIds: unknown });
    expect(stop.body.message).toContain(unknown[0]);
    expect(await incidentIds()).toEqual(incidentsBefore);
    // Not even an incident opened and discarded.
    expect(await discarded()).toEqual(discardedBefore);
  });

  describe('authorization', () => {
    it('lets an owner revoke only their own agents, and never in bulk', async () => {
      const { agent } = await agentApi(otherOwner.api);
      expect((await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'x' })).status).toBe(
        403,
      );
      expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body).toMatchObject({
        status: 'active',
        epoch: agent.epoch,
      });
      expect(
        (await owner.api.post('/v1/agents/agt_0000000000000000/revoke', { reason: 'x' })).status,
      ).toBe(404);
      const bulk = await owner.api.post('/v1/revocations', {
        selector: { agentIds: [agent.id] },
        reason: 'x',
      });
      expect(bulk.status).toBe(403);
      expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body.status).toBe('active');
    });

    it('lets an owner read, at once, the incident in which a responder stopped their agent', async () => {
      const { agent } = await agentApi(owner.api);
      const revoked = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'x' });
      const read = await owner.api.get(`/v1/incidents/${revoked.body.incidentId}`);
      expect(read.status).toBe(200);
      expect((await otherOwner.api.get(`/v1/incidents/${revoked.body.incidentId}`)).status).toBe(
        403,
      );
    });

    it('lets an owner read a bulk stop that lists their agent, even one it found revoked already', async () => {
      const { agent: theirs } = await agentApi(owner.api);
      await owner.api.post(`/v1/agents/${theirs.id}/revoke`, { reason: 'mine first' });
      const { agent: other } = await agentApi(otherOwner.api);
      const bulk = await responder.api.post('/v1/revocations', {
        selector: { agentIds: [theirs.id, other.id] },
        reason: 'sweep',
      });
      expect(bulk.body).toMatchObject({
        agentIds: [theirs.id, other.id],
        alreadyRevokedIds: [theirs.id],
      });
      const incidentId = bulk.body.incidentId as string;
      // Both owners, at once: the incident names each one's agent.
      for (const api of [owner.api, otherOwner.api]) {
        expect((await api.get(`/v1/incidents/${incidentId}`)).status).toBe(200);
        const listed = (await api.get('/v1/incidents?limit=5')).body.items.map(
          (i: { id: string }) => i.id,
        );
        expect(listed).toContain(incidentId);
      }
    });

    it('lets only admins reinstate, with a reason, and records it on the incident', async () => {
      const { agent } = await agentApi(owner.api);
      const revoked = await responder.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'x' });
      expect(revoked.status).toBe(200);
      for (const api of [owner.api, responder.api]) {
        expect((await api.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'ok' })).status).toBe(
          403,
        );
      }
      expect((await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, {})).status).toBe(400);
      // Not while its stop is still being recorded (its incident still "open"; made so here,
      // once its follow-up is over, so that the follow-up cannot mark it done meanwhile).
      await incidentDone(revoked.body.incidentId);
      const redis = ks.app.get(RedisService, { strict: false });
      const incidentKey = redis.keys.incident(revoked.body.incidentId);
      const status = await redis.client.hget(incidentKey, 'status');
      await redis.client.hset(incidentKey, 'status', 'open');
      try {
        const early = await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'fixed' });
        expect(early.status).toBe(409);
        expect(early.body.message).toMatch(/still being recorded .*reinstate it in a few seconds/);
      } finally {
        await redis.client.hset(incidentKey, 'status', status ?? 'done');
      }
      const reinstated = await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, {
        reason: 'fixed',
      });
      expect(reinstated.status).toBe(200);
      const incident = (await ks.admin.get(`/v1/incidents/${revoked.body.incidentId}`)).body;
      expect(incident.timeline).toEqual(
        expect.arrayContaining([expect.objectContaining({ step: 'reinstate', detail: 'fixed' })]),
      );
    });

    it('refuses malformed bulk requests and changes nothing', async () => {
      // Each refusal says what is wrong with the part that is wrong.
      for (const [body, message] of [
        [{ reason: 'x' }, /^selector is required: exactly one of/],
        [{ selector: {}, reason: 'x' }, /^selector must be exactly one of/],
        [{ selector: { labels: {} }, reason: 'x' }, /^selector.labels must hold 1 to 20 labels/],
        [{ selector: { all: true, owner: owner.id }, reason: 'x' }, /^selector must be/],
        [
          { selector: { agentIds: ['agt_0000000000000001', 'nope'] }, reason: 'x' },
          /^selector.agentIds must be agent ids such as agt_\w+ \(got "nope"\)$/,
        ],
        [{ selector: { owner: 'someone' }, reason: 'x' }, /^selector.owner must be a user id/],
        [{ selector: { all: true }, reason: 'x', rollback: 'sometimes' }, /rollback/],
      ] as const) {
        const reply = await responder.api.post('/v1/revocations', body);
        expect(reply.status).toBe(400);
        expect(reply.body.error).toBe('bad_request');
        expect(reply.body.message).toMatch(message);
      }
    });
  });

  it('finishes a stop whose request died right after the fence: the sweeper opens its incident', async () => {
    const { agent, lease, queued } = await withSlowJobs(3);
    // A record nobody can read is dropped, not retried forever.
    const redis = ks.app.get(RedisService, { strict: false });
    await redis.client.zadd(redis.keys.revocationUnconfirmed(), 0, 'not json');
    // The process "dies" between the fence and the incident: the write of the incident fails.
    const repository = ks.app.get(IncidentsRepository, { strict: false });
    const failed = await withSpies([failNext(repository, 'create')], () =>
      owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'inbox' }),
    );
    expect(failed.status).toBe(500);
    // Fail closed: the fence held.
    const fenced = (await ks.admin.get(`/v1/agents/${agent.id}`)).body;
    expect(fenced).toMatchObject({ status: 'revoked', revokeReason: 'inbox' });
    expect((await lease.post('/v1/leases/heartbeat', {})).status).toBe(401);
    expect((await ks.admin.get(`/v1/incidents/${fenced.incidentId}`)).status).toBe(404);

    // Within a few seconds, the sweeper opens the incident and its follow-up runs.
    let opened: any;
    await waitFor(
      async () => {
        opened = await owner.api.get(`/v1/incidents/${fenced.incidentId}`);
        return opened.status === 200;
      },
      15_000,
      'the sweeper to open the incident',
      200,
    );
    expect(opened.body).toMatchObject({ reason: 'inbox', agentIds: [agent.id] });
    const incident = await incidentDone(fenced.incidentId);
    expect(incident.counts.halted + incident.counts.aborted).toBe(3);
    expect(incident.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ step: 'fence', actor: 'killswitch' }),
        expect.objectContaining({ step: 'halt', agentId: agent.id }),
      ]),
    );
    await expectStopped(queued);
    expect(await redis.client.zcard(redis.keys.revocationUnconfirmed())).toBe(0);
    // Asking again answers with the incident the sweeper opened; nothing is opened twice.
    const again = await owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'again' });
    expect(again.body).toMatchObject({ alreadyRevoked: true, incidentId: fenced.incidentId });
  }, 60_000);

  it('finishes a stop whose follow-up could not be queued, even for an agent reinstated since', async () => {
    const { agent, queued } = await withSlowJobs(3);
    // The incident is written, then queueing the follow-up fails. The agent is fenced and the
    // sweeper holds the stop's record: the call answers, and the timeline says what waits.
    const queue = ks.app.get(RevocationQueue, { strict: false });
    const answered = await withSpies([failNext(queue, 'followAgents')], () =>
      owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'inbox' }),
    );
    expect(answered.status).toBe(200);
    const { incidentId } = answered.body;
    const waiting = (await ks.admin.get(`/v1/incidents/${incidentId}`)).body;
    expect(waiting.status).toBe('following_up');
    expect(waiting.timeline.at(-1)).toMatchObject({
      step: 'follow-up',
      outcome: 'waiting',
      detail: expect.stringContaining('an unexpected error (logged)'),
    });
    // Reinstated before the sweeper comes by: the agent no longer names the incident, which
    // still finishes, from the epoch it recorded.
    const reinstated = await ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'ok' });
    expect(reinstated.status).toBe(200);
    const incident = await incidentDone(incidentId);
    expect(incident.counts.halted + incident.counts.aborted).toBe(3);
    await expectStopped(queued);
  }, 60_000);

  it('finishes a bulk stop whose sweeper record and follow-up both failed to be written', async () => {
    const label = { fleet: `unrecorded-${Date.now()}` };
    const fleet = await Promise.all([1, 2].map(() => withSlowJobs(1, label)));
    // Redis refuses the record for the sweeper, then the follow-up's queueing: the call fails
    // after fencing, and writes the record once more on its way out.
    const repository = ks.app.get(RevocationRepository, { strict: false });
    const queue = ks.app.get(RevocationQueue, { strict: false });
    const failed = await withSpies(
      [
        jest.spyOn(repository, 'markUnconfirmed').mockResolvedValueOnce(false),
        failNext(queue, 'followAgents', new Error('Redis went away')),
      ],
      () =>
        responder.api.post('/v1/revocations', {
          selector: { labels: label },
          reason: 'unrecorded',
        }),
    );
    expect(failed.status).toBe(500);
    const { incidentId } = (await ks.admin.get(`/v1/agents/${fleet[0].agent.id}`)).body;
    // The sweeper follows it up from that record.
    const incident = await incidentDone(incidentId);
    expect(incident.counts.fenced).toBe(2);
    // The call recorded the fence (and its entry) before queueing failed.
    expect(incident.timeline.filter((e: { step: string }) => e.step === 'fence')).toEqual([
      expect.objectContaining({ outcome: '2 agents fenced', via: 'api' }),
    ]);
    await expectStopped(fleet.flatMap(({ queued }) => queued));
  }, 60_000);

  it.each([
    ['a bulk stop', 2],
    ['a single stop', 1],
  ])(
    'lists %s whose write to the list of incidents failed',
    async (_what, count) => {
      const label = { fleet: `unlisted-${Date.now()}` };
      const fleet = await Promise.all(
        Array.from({ length: count }, () => agentApi(owner.api, label)),
      );
      // The incident is written, the write beside it that lists it fails: so does the call.
      const incidents = ks.app.get(IncidentsRepository, { strict: false });
      const listing = failNext(incidents, 'index', new Error('Connection is closed.'));
      const failed = await withSpies([listing], () =>
        count === 1
          ? responder.api.post(`/v1/agents/${fleet[0].agent.id}/revoke`, { reason: 'unlisted' })
          : responder.api.post('/v1/revocations', {
              selector: { labels: label },
              reason: 'unlisted',
            }),
      );
      expect(failed.status).toBe(503);
      const { incidentId } = (await ks.admin.get(`/v1/agents/${fleet[0].agent.id}`)).body;
      const listed = async () =>
        ((await responder.api.get('/v1/incidents?limit=20')).body.items as { id: string }[]).map(
          (i) => i.id,
        );
      expect(await listed()).not.toContain(incidentId);
      // The sweeper finishes the stop, and lists it again.
      const incident = await incidentDone(incidentId);
      expect(incident.counts.fenced).toBe(count);
      await waitFor(async () => (await listed()).includes(incidentId), 10_000, 'it to be listed');
    },
    60_000,
  );

  it('finishes a bulk stop whose request died before fencing: the sweeper queues its fan-out, which fences', async () => {
    const label = { fleet: `held-${Date.now()}` };
    const fleet = await Promise.all(
      [1, 2, 3].map(() => agentWithLease(owner.api, { labels: label, ttlSeconds: 120 })),
    );
    const told = await Promise.all(fleet.map(({ lease }) => listen(lease.token, openSockets)));
    // The process "dies" after queueing the fan-out job, before any agent is fenced.
    const repository = ks.app.get(RevocationRepository, { strict: false });
    const failed = await withSpies([failNext(repository, 'fenceMany')], () =>
      responder.api.post('/v1/revocations', {
        selector: { labels: label },
        reason: 'fleet compromised',
      }),
    );
    expect(failed.status).toBe(500);
    // The incident was opened before the fence; the sweeper queues its fan-out, which fences.
    const listed = (await responder.api.get('/v1/incidents?limit=5')).body.items;
    const incident = listed.find((i: any) => i.reason === 'fleet compromised' && i.agents === 3);
    expect(incident).toBeDefined();
    const done = await incidentDone(incident.id);
    expect(done.counts.fenced).toBe(3);
    // The fence is on its timeline once, recorded by the fan-out that fenced them.
    expect(done.timeline.filter((e: { step: string }) => e.step === 'fence')).toEqual([
      expect.objectContaining({
        actor: 'killswitch',
        outcome: '3 agents fenced',
        detail: expect.stringMatching(/^recorded by the follow-up/),
        at: expect.any(String),
      }),
    ]);
    for (const [i, { agent, asAgent }] of fleet.entries()) {
      expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body).toMatchObject({
        status: 'revoked',
        incidentId: incident.id,
      });
      expect((await asAgent.post('/v1/leases/heartbeat', {})).status).toBe(401);
      // Told by the fan-out that fenced it, as the call would have.
      await waitFor(() => told[i].length > 0, 5000, 'lease.revoked');
      expect(told[i]).toEqual([expect.objectContaining({ incidentId: incident.id })]);
    }
  }, 60_000);

  it('revokes 1,000 agents by label: all fenced when the call returns, all halted when done', async () => {
    tools.on('/slow', () => undefined);
    const label = { fleet: `bulk-${Date.now()}` };
    const agents: { id: string; actions: string[] }[] = [];
    const make = async () => {
      const { agent, lease } = await agentApi(owner.api, label);
      const actions: string[] = [];
      for (let n = 0; n < 2; n++) {
        actions.push(
          (await lease.post('/v1/actions', { type: 'slow.job', params: { n } })).body.id,
        );
      }
      agents.push({ id: agent.id, actions });
    };
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, make));
    }

    const dry = await responder.api.post('/v1/revocations', {
      selector: { labels: label },
      reason: 'fleet compromised',
      dryRun: true,
    });
    expect(dry.body).toMatchObject({ dryRun: true, agents: 1000, wouldRevoke: 1000 });
    expect(
      (await ks.admin.get(`/v1/agents?label=fleet=${label.fleet}&status=revoked&limit=1`)).body
        .items,
    ).toHaveLength(0);

    const revoked = await responder.api.post('/v1/revocations', {
      selector: { labels: label },
      reason: 'fleet compromised',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.agents).toBe(1000);
    // Fenced when the call returns: not one of them is still active.
    const active = await ks.admin.get(
      `/v1/agents?label=fleet=${label.fleet}&status=active&limit=500`,
    );
    expect(active.body.items).toHaveLength(0);

    const incident = await incidentDone(revoked.body.incidentId);
    expect(incident.progress).toEqual({ done: 1000, total: 1000 });
    expect(incident.counts.fenced).toBe(1000);
    const statuses = new Map<ActionStatus, number>();
    for (const { actions } of agents) {
      for (const id of actions) {
        const status = (await actionOf(id)).status as ActionStatus;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    // Unfinished ones, and the review items that would say why (an abort that took too long).
    expect({
      unfinished: [...statuses].filter(([s]) => !FINISHED_ACTION_STATUSES.includes(s)),
      stillRunning: incident.needsReview.filter((r: { why: string }) =>
        r.why.startsWith('still running'),
      ),
    }).toEqual({ unfinished: [], stillRunning: [] });
    expect((statuses.get('halted') ?? 0) + (statuses.get('aborted') ?? 0)).toBe(2000);
    expect(incident.counts.halted + incident.counts.aborted).toBe(2000);
  }, 180_000);
});

/**
 * A killswitch with a retry backoff of its own, and a tool server, for the describe that calls
 * it; `ks` is there once its beforeAll ran.
 */
function deploymentWithBackoff(actionBackoffMs: number) {
  const deployment = new TestDeployment({ actionBackoffMs });
  const setup = { tools: new ToolServer(), ks: undefined as unknown as RunningApp };
  beforeAll(async () => {
    await setup.tools.start();
    setup.ks = await deployment.killswitch();
  });
  afterAll(async () => {
    await deployment.close();
    await setup.tools.stop();
  });
  return setup;
}

describe('a stop that halts an action waiting to try again', () => {
  // Long enough a backoff that the stop lands between the failed attempt and the next.
  const setup = deploymentWithBackoff(10_000);

  it('lists it for review: the attempt that failed may have been acted on', async () => {
    const { tools, ks } = setup;
    tools.on('/flaky-send', (_request, response) => json(response, 504, { error: 'gateway' }));
    await registerWebhookType(ks.admin, tools, 'mail.send', { path: '/flaky-send' });
    const { agent, asAgent } = await agentWithLease(ks.admin, {
      allowedActions: ['mail.send'],
      ttlSeconds: 120,
    });
    const id = (await asAgent.post('/v1/actions', { type: 'mail.send' })).body.id as string;
    await waitForAction(ks.admin, id, { until: ['retrying'], timeoutMs: 10_000 });

    const revoked = await ks.admin.post(`/v1/agents/${agent.id}/revoke`, { reason: 'flaky' });
    const incident = await waitForIncident(ks.admin, revoked.body.incidentId, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect((await ks.admin.get(`/v1/actions/${id}`)).body).toMatchObject({
      status: 'halted',
      attempts: 1,
    });
    expect(incident.counts).toMatchObject({ halted: 1, needsReview: 1 });
    expect(incident.needsReview).toEqual([
      expect.objectContaining({
        actionId: id,
        why: 'halted while waiting to retry: an earlier attempt failed and may have partly happened',
      }),
    ]);
    expect(tools.received('/flaky-send')).toHaveLength(1);
  });
});

describe('a stop whose action is halted at its start, before the follow-up halts anything', () => {
  // Short enough that the retry starts while the follow-up is held; long enough that the stop
  // lands before it.
  const setup = deploymentWithBackoff(500);

  it('puts that halt on the timeline, as its counts say', async () => {
    const { tools, ks } = setup;
    tools.on('/flaky-post', (_request, response) => json(response, 503, { error: 'busy' }));
    await registerWebhookType(ks.admin, tools, 'chat.post', { path: '/flaky-post' });
    const { agent, asAgent } = await agentWithLease(ks.admin, {
      allowedActions: ['chat.post'],
      ttlSeconds: 120,
    });
    const id = (await asAgent.post('/v1/actions', { type: 'chat.post' })).body.id as string;
    await waitForAction(ks.admin, id, { until: ['retrying'], timeoutMs: 10_000 });

    // The follow-up waits until the retry's job has started and found the agent revoked.
    const followup = ks.app.get(FollowupService, { strict: false });
    const followAgent = followup.followAgent.bind(followup);
    const held = jest
      .spyOn(followup, 'followAgent')
      .mockImplementationOnce(async (...args: Parameters<FollowupService['followAgent']>) => {
        await waitForAction(ks.admin, id, { until: ['halted'], timeoutMs: 10_000 });
        return followAgent(...args);
      });
    try {
      const revoked = await ks.admin.post(`/v1/agents/${agent.id}/revoke`, { reason: 'flaky' });
      const incident = await waitForIncident(ks.admin, revoked.body.incidentId, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(held).toHaveBeenCalled();
      expect((await ks.admin.get(`/v1/actions/${id}`)).body.history.at(-1)).toMatchObject({
        status: 'halted',
        detail: 'agent revoked before the action started',
      });
      expect(incident.counts).toMatchObject({ halted: 1 });
      expect(incident.timeline).toContainEqual(
        expect.objectContaining({
          step: 'halt',
          agentId: agent.id,
          outcome: '1 queued action halted',
        }),
      );
    } finally {
      held.mockRestore();
    }
  });
});
