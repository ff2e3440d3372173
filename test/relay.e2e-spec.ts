import { createHash, randomUUID } from 'node:crypto';
import { io, Socket } from 'socket.io-client';
import { AgentsService } from '@app/agents';
import { DomainError } from '@app/core';
import { DevicesService, StopRequests } from '@app/devices';
import { Keys, RedisService } from '@app/redis';
import { RevocationService } from '@app/revocation';
import { RunningApp, TestDeployment } from './support/apps';
import {
  agentWithLease,
  connected,
  createAgent,
  createUser,
  openAgentSocket,
  revokeAgent,
  TestUser,
} from './support/factories';
import { Api } from './support/http';
import { readPrefix, waitFor } from './support/redis';

/** A phone: pairs through the relay and keeps a device socket. */
async function pairPhone(ks: RunningApp, relay: RunningApp, user: TestUser, name = 'Test phone') {
  const code = await user.api.post('/v1/devices/pairing-codes');
  expect(code.status).toBe(201);
  const paired = await new Api(relay.url).post('/v1/pair', {
    code: code.body.code,
    deviceName: name,
  });
  expect(paired.status).toBe(201);
  return paired.body as { deviceToken: string; deviceId: string; user: { id: string } };
}

function connect(url: string, namespace: string, token: string): Socket {
  return io(`${url}${namespace}`, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
  });
}

function once<T>(socket: Socket, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${event} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

describe('the mobile relay', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let relay: RunningApp;
  let owner: TestUser;
  let otherOwner: TestUser;
  let viewer: TestUser;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    ks = await deployment.killswitch();
    relay = await deployment.relay();
    [owner, otherOwner, viewer] = await Promise.all([
      createUser(ks, 'owner'),
      createUser(ks, 'owner'),
      createUser(ks, 'viewer'),
    ]);
  });

  afterAll(async () => {
    sockets.forEach((s) => s.disconnect());
    await deployment.close();
  });

  const phone = async (user: TestUser) => {
    const paired = await pairPhone(ks, relay, user);
    const socket = connect(relay.url, '/devices', paired.deviceToken);
    sockets.push(socket);
    const snapshot = await once<any>(socket, 'snapshot');
    return { ...paired, socket, snapshot };
  };

  it('pairs a phone, sends a snapshot and live events, and stops an agent with an ack', async () => {
    const agent = await createAgent(owner.api, { name: 'mailer' });
    const { socket, snapshot } = await phone(owner);
    expect(snapshot.user).toMatchObject({ id: owner.id, role: 'owner' });
    expect(snapshot.moreAgents).toBe(false);
    expect(snapshot.agents.map((a: { id: string }) => a.id)).toContain(agent.id);
    expect(snapshot.agents.find((a: { id: string }) => a.id === agent.id)).toMatchObject({
      status: 'active',
      recentActions: [],
    });

    const updated = once<any>(socket, 'agent.updated');
    const incidentUpdated = once<any>(socket, 'incident.updated', 10_000);
    const ack = await socket.timeout(5000).emitWithAck('stop', {
      agentId: agent.id,
      reason: 'from the phone',
      requestId: randomUUID(),
    });
    expect(ack).toEqual({
      ok: true,
      incidentId: expect.stringMatching(/^inc_/),
      revokedAt: expect.any(String),
      agents: 1,
      alreadyRevoked: 0,
    });
    expect(await updated).toMatchObject({ id: agent.id, status: 'revoked' });
    expect((await incidentUpdated).id).toBe(ack.incidentId);

    const incident = (await ks.admin.get(`/v1/incidents/${ack.incidentId}`)).body;
    expect(incident.openedFrom).toMatchObject({ via: 'device', deviceName: 'Test phone' });
    expect(incident.openedFrom.deviceId).toMatch(/^dev_/);
    // The request and the fence it caused name the same phone.
    for (const step of ['revoke', 'fence']) {
      expect(incident.timeline.find((e: { step: string }) => e.step === step)).toMatchObject({
        via: 'device: Test phone',
      });
    }
  });

  it('says how many of the agents it stopped were stopped already', async () => {
    const { socket } = await phone(owner);
    const [before, fresh] = [await createAgent(owner.api), await createAgent(owner.api)];
    await revokeAgent(owner.api, before.id);
    const ack = await socket.timeout(5000).emitWithAck('stop', {
      selector: { agentIds: [before.id, fresh.id] },
      requestId: randomUUID(),
    });
    expect(ack).toMatchObject({ ok: true, agents: 2, alreadyRevoked: 1 });
  });

  it('answers a resent requestId with the first answer and revokes once', async () => {
    const agents = [await createAgent(owner.api), await createAgent(owner.api)];
    const { socket, deviceToken } = await phone(owner);
    const requestId = randomUUID();
    const first = await socket.timeout(5000).emitWithAck('stop', { mine: true, requestId });
    expect(first.ok).toBe(true);
    const again = await socket.timeout(5000).emitWithAck('stop', { mine: true, requestId });
    expect(again).toEqual(first);
    // The HTTP fallback shares the same memory of requestIds.
    const viaHttp = await new Api(relay.url, deviceToken).post('/v1/stop', {
      mine: true,
      requestId,
    });
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.body).toEqual(first);
    // One incident from this phone: a second stop would have opened another (an empty one,
    // its agents being revoked already).
    const { deviceId } = (await owner.api.get(`/v1/incidents/${first.incidentId}`)).body.openedFrom;
    const fromThisPhone = (await owner.api.get('/v1/incidents?limit=200')).body.items.filter(
      (i: { openedFrom: { deviceId?: string } }) => i.openedFrom.deviceId === deviceId,
    );
    expect(deviceId).toMatch(/^dev_/);
    expect(fromThisPhone.map((i: { id: string }) => i.id)).toEqual([first.incidentId]);
    for (const agent of agents) {
      expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body.status).toBe('revoked');
    }
  });

  it('keeps the phone paired when Redis cannot be read, and carries out the stop sent again', async () => {
    const agent = await createAgent(owner.api);
    const { socket } = await phone(owner);
    const unreachable = () => new Error('Connection is closed.');
    const requestId = randomUUID();
    // The device check cannot read Redis: not a revocation.
    const devices = relay.app.get(DevicesService, { strict: false });
    const check = jest.spyOn(devices, 'authenticate').mockRejectedValueOnce(unreachable());
    try {
      const ack = await socket.timeout(5000).emitWithAck('stop', { agentId: agent.id, requestId });
      expect(ack).toMatchObject({ ok: false, code: 'unavailable' });
    } finally {
      check.mockRestore();
    }
    // The revocation itself cannot reach Redis, after the requestId was claimed.
    const revocation = relay.app.get(RevocationService, { strict: false });
    const revoke = jest.spyOn(revocation, 'revokeOne').mockRejectedValueOnce(unreachable());
    try {
      const ack = await socket.timeout(5000).emitWithAck('stop', { agentId: agent.id, requestId });
      expect(ack).toMatchObject({ ok: false, code: 'unavailable' });
    } finally {
      revoke.mockRestore();
    }
    expect(socket.connected).toBe(true);
    expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body.status).toBe('active');
    // The same stop, sent again, is carried out (not "still being carried out").
    const again = await socket.timeout(5000).emitWithAck('stop', { agentId: agent.id, requestId });
    expect(again).toMatchObject({ ok: true, agents: 1 });
    expect((await ks.admin.get(`/v1/agents/${agent.id}`)).body.status).toBe('revoked');
  });

  describe('a stop whose relay died while carrying it out', () => {
    /** The agent, a phone, one stop's requestId, and how to send it and to read its memory. */
    const oneStop = async () => {
      const agent = await createAgent(owner.api);
      const { socket, deviceId } = await phone(owner);
      const requestId = randomUUID();
      const redis = relay.app.get(RedisService, { strict: false });
      const key = redis.keys.stopRequest(deviceId, requestId);
      const send = () =>
        socket.timeout(10_000).emitWithAck('stop', { agentId: agent.id, requestId });
      return {
        agent,
        send,
        /** Sends the stop once; its delivery "dies" (never returns) at `dying`'s first call. */
        sendDyingAt: async (dying: jest.SpyInstance, where: string) => {
          try {
            void send().catch(() => undefined);
            await waitFor(() => dying.mock.calls.length > 0, 5000, where);
          } finally {
            dying.mockRestore();
          }
        },
        stored: () => redis.client.get(key),
        // Its lease lapsing, sped up: 30 s from the claim.
        lapse: async () => {
          const held = (await redis.client.get(key)) ?? '';
          expect(held).toMatch(/^pending \S+ inc_[0-9a-f]{16} \d+$/);
          await redis.client.set(key, held.replace(/\d+$/, '0'), 'KEEPTTL');
        },
        status: async () => (await ks.admin.get(`/v1/agents/${agent.id}`)).body.status,
      };
    };

    it('is carried out by a resend once its lease lapses, if it did not land', async () => {
      const stop = await oneStop();
      // The first delivery claims the stop, then its process "dies" before the fence.
      const revocation = relay.app.get(RevocationService, { strict: false });
      await stop.sendDyingAt(
        jest.spyOn(revocation, 'revokeOne').mockReturnValueOnce(new Promise(() => {})),
        'the first delivery to claim it',
      );
      const [, lease] = /(\d+)$/.exec((await stop.stored()) ?? '') ?? [];
      expect(Number(lease) - Date.now()).toBeLessThanOrEqual(30_000);
      // A resend meanwhile waits, then says it is still being carried out.
      expect(await stop.send()).toMatchObject({ ok: false, code: 'conflict' });
      expect(await stop.status()).toBe('active');
      await stop.lapse();
      const ack = await stop.send();
      expect(ack).toMatchObject({ ok: true, agents: 1 });
      expect(await stop.status()).toBe('revoked');
      expect(JSON.parse((await stop.stored()) ?? '')).toEqual(ack);
    });

    it('answers a resend with its incident, and does not stop again, if it landed', async () => {
      const stop = await oneStop();
      // The first delivery stops the agent, then its process "dies" before keeping its answer.
      const requests = relay.app.get(StopRequests, { strict: false });
      await stop.sendDyingAt(
        jest.spyOn(requests, 'settle').mockReturnValueOnce(new Promise(() => {})),
        'the first stop to land',
      );
      expect(await stop.status()).toBe('revoked');
      const { incidentId } = (await ks.admin.get(`/v1/agents/${stop.agent.id}`)).body;
      // Reinstated meanwhile: a second stop would revoke it again, under another incident.
      const reinstated = await ks.admin.post(`/v1/agents/${stop.agent.id}/reinstate`, {
        reason: 'back to work',
      });
      expect(reinstated.status).toBe(200);
      await stop.lapse();
      expect(await stop.send()).toMatchObject({ ok: true, incidentId, agents: 1 });
      expect(await stop.status()).toBe('active');
    });
  });

  it('answers an event it does not take, rather than leave its ack waiting', async () => {
    const { socket } = await phone(owner);
    const ack = await socket
      .timeout(5000)
      .emitWithAck('revoke', { agentId: 'agt_0000000000000001' });
    expect(ack).toEqual({
      ok: false,
      error: 'The relay takes no "revoke" event: phones send stop',
      code: 'bad_request',
    });
  });

  it('closes a socket that sends a message larger than an HTTP body may be', async () => {
    const { socket } = await phone(owner);
    const closed = once<string>(socket, 'disconnect');
    // 70 KiB of agent ids, over MAX_BODY_BYTES (64 KiB): socket.io's own limit is 1 MB.
    const agentIds = Array.from({ length: 3500 }, (_, i) => `agt_${String(i).padStart(16, '0')}`);
    socket.emit('stop', { selector: { agentIds }, requestId: randomUUID() });
    expect(await closed).toBe('transport close');
  });

  describe('a stop that is malformed or refused', () => {
    // An owner of this block's own: "every agent of the user" is only this block's agents.
    let user: TestUser;

    beforeAll(async () => {
      user = await createUser(ks, 'owner');
    });

    /** A phone of the user, its two ways to send a stop, and what a stop may have left. */
    const stopper = async () => {
      const { socket, deviceId, deviceToken } = await phone(user);
      const redis = relay.app.get(RedisService, { strict: false });
      return {
        deviceId,
        socket: (body: object) => socket.timeout(10_000).emitWithAck('stop', body),
        http: (body: object) => new Api(relay.url, deviceToken).post('/v1/stop', body),
        stored: (requestId: string) =>
          redis.client.get(redis.keys.stopRequest(deviceId, requestId)),
        /** Every stop this phone left a key for. */
        remembered: async () => {
          const [, keys] = await redis.client.scan(
            '0',
            'MATCH',
            redis.keys.stopRequest(deviceId, '*'),
            'COUNT',
            100_000,
          );
          return keys;
        },
        /** The incidents this phone opened. */
        incidents: async () =>
          (await ks.admin.get('/v1/incidents?limit=200')).body.items
            .filter(
              (i: { openedFrom: { deviceId?: string } }) => i.openedFrom.deviceId === deviceId,
            )
            .map((i: { id: string }) => i.id),
      };
    };
    const status = async (agentId: string) =>
      (await ks.admin.get(`/v1/agents/${agentId}`)).body.status;

    /** Sends `body` both ways; expects each to be refused as bad_request with `message`. */
    const refusedBothWays = async (
      phone: Awaited<ReturnType<typeof stopper>>,
      body: object,
      message: unknown,
    ) => {
      const viaHttp = await phone.http({ ...body, requestId: randomUUID() });
      expect(viaHttp.status).toBe(400);
      expect(viaHttp.body).toEqual({ ok: false, error: 'bad_request', message });
      const ack = await phone.socket({ ...body, requestId: randomUUID() });
      expect(ack).toEqual({ ok: false, code: 'bad_request', error: message });
    };

    it('refuses a field it does not know, over HTTP and the socket, and changes nothing', async () => {
      const agent = await createAgent(user.api);
      const phone = await stopper();
      await refusedBothWays(
        phone,
        { selector: { agentIds: [agent.id] }, dryRun: true },
        'property dryRun should not exist',
      );
      await refusedBothWays(
        phone,
        { agentId: agent.id, force: true },
        'property force should not exist',
      );
      expect(await status(agent.id)).toBe('active');
      expect(await phone.incidents()).toEqual([]);
      expect(await phone.remembered()).toEqual([]);
    });

    it('takes exactly one target of the right type and a reason the API would take, and says what is wrong', async () => {
      const agents = [await createAgent(user.api), await createAgent(user.api)];
      const phone = await stopper();
      // A wrongly typed agentId once let `mine` through: every agent of the user stopped.
      await refusedBothWays(
        phone,
        { agentId: [agents[0].id], mine: true },
        'agentId must be an agent id such as agt_3f9a1c2b4d5e6f70; ' +
          'send only one of agentId, mine and selector, not agentId and mine',
      );
      await refusedBothWays(
        phone,
        { agentId: 123, selector: null },
        expect.stringMatching(
          /^agentId must be an agent id .*; selector must be exactly one of .*; send only one of agentId, mine and selector, not agentId and selector$/,
        ),
      );
      await refusedBothWays(phone, { mine: 'yes' }, 'mine must be true (or not sent)');
      // Reasons: cut to 500 characters, or replaced when not a string, until now.
      await refusedBothWays(
        phone,
        { mine: true, reason: 'x'.repeat(501) },
        'reason must be 1 to 500 characters long',
      );
      await refusedBothWays(phone, { mine: true, reason: 42 }, 'reason must be a string');
      await refusedBothWays(phone, { mine: true, reason: ' ' }, 'reason must not be blank');
      for (const agent of agents) {
        expect(await status(agent.id)).toBe('active');
      }
      expect(await phone.incidents()).toEqual([]);
      expect(await phone.remembered()).toEqual([]);

      // 500 characters once trimmed is a reason; it is kept trimmed.
      const reason = 'r'.repeat(500);
      const ack = await phone.socket({
        agentId: agents[0].id,
        reason: `  ${reason} `,
        requestId: randomUUID(),
      });
      expect(ack).toMatchObject({ ok: true, agents: 1 });
      expect((await ks.admin.get(`/v1/incidents/${ack.incidentId}`)).body.reason).toBe(reason);
    });

    it('carries out a corrected stop sent again under the requestId of a malformed one', async () => {
      const [first, second] = [await createAgent(user.api), await createAgent(user.api)];
      const phone = await stopper();
      // A phone resends a queued stop under its requestId: a malformed one, refused before it
      // was claimed, left nothing that would answer for the corrected one.
      const overHttp = `bad-http-${randomUUID()}`;
      expect((await phone.http({ agentId: '../x', requestId: overHttp })).status).toBe(400);
      expect(await phone.stored(overHttp)).toBeNull();
      const viaHttp = await phone.http({ agentId: first.id, requestId: overHttp });
      expect(viaHttp.status).toBe(200);
      expect(viaHttp.body).toMatchObject({ ok: true, agents: 1 });
      expect(await status(first.id)).toBe('revoked');

      const overSocket = `bad-socket-${randomUUID()}`;
      expect(await phone.socket({ agentId: '../x', requestId: overSocket })).toMatchObject({
        ok: false,
        code: 'bad_request',
      });
      expect(await phone.stored(overSocket)).toBeNull();
      expect(await phone.socket({ agentId: second.id, requestId: overSocket })).toMatchObject({
        ok: true,
        agents: 1,
      });
      expect(await status(second.id)).toBe('revoked');
    });

    it('does not keep a refusal: the same requestId sent again is judged afresh', async () => {
      const [first, second] = [await createAgent(user.api), await createAgent(user.api)];
      const theirs = await createAgent(otherOwner.api);
      const phone = await stopper();
      // Refused after it was claimed: no such agent (404), another owner's agent (403).
      const overHttp = randomUUID();
      const missing = `agt_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      const notFound = await phone.http({ agentId: missing, requestId: overHttp });
      expect(notFound.status).toBe(404);
      expect(notFound.body).toMatchObject({ ok: false, error: 'not_found' });
      // Released, not kept: no holder, nothing that answers for a resend.
      expect(await phone.stored(overHttp)).toMatch(/^pending \S+ inc_[0-9a-f]{16} 0$/);
      const overSocket = randomUUID();
      expect(await phone.socket({ agentId: theirs.id, requestId: overSocket })).toMatchObject({
        ok: false,
        code: 'forbidden',
      });
      expect(await phone.stored(overSocket)).toMatch(/^pending \S+ inc_[0-9a-f]{16} 0$/);
      expect(await status(theirs.id)).toBe('active');
      expect(await phone.incidents()).toEqual([]);

      // The corrected stops, each under the requestId of the refused one, each way.
      const viaSocket = await phone.socket({ agentId: first.id, requestId: overHttp });
      expect(viaSocket).toMatchObject({ ok: true, agents: 1 });
      const viaHttp = await phone.http({ agentId: second.id, requestId: overSocket });
      expect(viaHttp.status).toBe(200);
      expect(viaHttp.body).toMatchObject({ ok: true, agents: 1 });
      expect(await status(first.id)).toBe('revoked');
      expect(await status(second.id)).toBe('revoked');
      expect((await phone.incidents()).sort()).toEqual(
        [viaSocket.incidentId, viaHttp.body.incidentId].sort(),
      );
      // Landed: kept, and answered again as it was, without a second revocation.
      expect(await phone.http({ agentId: first.id, requestId: overHttp })).toMatchObject({
        status: 200,
        body: viaSocket,
      });
      expect(await phone.incidents()).toHaveLength(2);
    });

    it('has a delivery that waited on a stop refused meanwhile carry the stop out itself', async () => {
      const agent = await createAgent(user.api);
      const phone = await stopper();
      const requestId = randomUUID();
      // The first delivery is refused slowly (the agent is "not found", after a while), so that
      // a second one arrives while the first holds the stop.
      let refuse = () => {};
      const refusing = new Promise<void>((resolve) => (refuse = resolve));
      const revocation = relay.app.get(RevocationService, { strict: false });
      const revokeOne = jest
        .spyOn(revocation, 'revokeOne')
        .mockImplementationOnce(async (_principal, agentId) => {
          await refusing;
          throw new DomainError('not_found', `Agent ${agentId} not found`);
        });
      const claims = jest.spyOn(relay.app.get(StopRequests, { strict: false }), 'claim');
      try {
        const first = phone.http({ agentId: agent.id, requestId });
        await waitFor(() => revokeOne.mock.calls.length > 0, 5000, 'the first delivery');
        const claimed = claims.mock.calls.length;
        const second = phone.socket({ agentId: agent.id, requestId });
        await waitFor(() => claims.mock.calls.length > claimed, 5000, 'the second to wait');
        refuse();
        expect((await first).status).toBe(404);
        // Not the first one's refusal, nor "still being carried out" after 5 s.
        expect(await second).toMatchObject({ ok: true, agents: 1 });
        expect(await status(agent.id)).toBe('revoked');
        expect(revokeOne).toHaveBeenCalledTimes(2);
      } finally {
        revokeOne.mockRestore();
        claims.mockRestore();
      }
    });
  });

  it("still tells responders of an action when its agent's owner cannot be read", async () => {
    const responder = await createUser(ks, 'responder');
    const { socket } = await phone(responder);
    // An owner's phone sees only its own agents', whatever the relay could read.
    const bystander = await phone(otherOwner);
    const seen: { agentId?: string }[] = [];
    bystander.socket.on('action.updated', (event: { agentId?: string }) => seen.push(event));
    // An agent the relay has not seen, so that its owner must be read; the read fails.
    const agentId = `agt_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const agents = relay.app.get(AgentsService, { strict: false });
    const findMany = jest
      .spyOn(agents, 'findMany')
      .mockRejectedValueOnce(new Error('Connection is closed.'));
    try {
      const told = new Promise<any>((resolve) =>
        socket.on('action.updated', (event: { agentId?: string }) => {
          if (event.agentId === agentId) {
            resolve(event);
          }
        }),
      );
      const redis = ks.app.get(RedisService, { strict: false });
      await redis.client.publish(
        redis.keys.events(),
        JSON.stringify({
          event: 'action.updated',
          agentId,
          actionId: `act_${agentId.slice(4)}_0000000000000001`,
          type: 'mail.send',
          status: 'halted',
          at: Date.now(),
        }),
      );
      expect(await told).toMatchObject({ agentId, status: 'halted' });
      expect(findMany).toHaveBeenCalledWith([agentId]);
      // Anything for the bystander would have been sent with the responder's.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.filter((event) => event.agentId === agentId)).toEqual([]);
    } finally {
      findMany.mockRestore();
    }
  });

  it("still tells responders and the indexed owners of an incident when its agents' owners cannot be read", async () => {
    const responder = await createUser(ks, 'responder');
    const watchers = {
      responder: (await phone(responder)).socket,
      owner: (await phone(owner)).socket,
      bystander: (await phone(otherOwner)).socket,
    };
    const heard: Record<string, { id: string }[]> = { responder: [], owner: [], bystander: [] };
    for (const [who, socket] of Object.entries(watchers)) {
      socket.on('incident.updated', (incident: { id: string }) => heard[who].push(incident));
    }
    // Every read of agents fails from before the agent exists, so that the relay never learns
    // its owner; the incident's own owner index (written by the stop) still reads.
    const agents = relay.app.get(AgentsService, { strict: false });
    const findMany = jest
      .spyOn(agents, 'findMany')
      .mockRejectedValue(new Error('Connection is closed.'));
    try {
      const agent = await createAgent(owner.api);
      const stopped = await responder.api.post(`/v1/agents/${agent.id}/revoke`, {
        reason: 'owners unreadable',
      });
      expect(stopped.status).toBe(200);
      const about = (who: string) => heard[who].filter((i) => i.id === stopped.body.incidentId);
      await waitFor(
        () => about('responder').length > 0 && about('owner').length > 0,
        10_000,
        "the responder's and the owner's phones to hear of the incident",
      );
      expect(findMany).toHaveBeenCalled();
      // Anything for the bystander would have gone out with the others'.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(about('bystander')).toEqual([]);
    } finally {
      findMany.mockRestore();
    }
  });

  it('says when a snapshot holds only the newest 200 agents', async () => {
    const many = await createUser(ks, 'owner');
    for (let i = 0; i < 201; i += 67) {
      await Promise.all(Array.from({ length: Math.min(67, 201 - i) }, () => createAgent(many.api)));
    }
    const { snapshot } = await phone(many);
    expect(snapshot.agents).toHaveLength(200);
    expect(snapshot.moreAgents).toBe(true);
  });

  it("names the owners of the agents a responder's snapshot lists", async () => {
    const responder = await createUser(ks, 'responder');
    const agent = await createAgent(owner.api, { name: 'owned-by-someone' });
    const { snapshot } = await phone(responder);
    expect(snapshot.agents.map((a: { id: string }) => a.id)).toContain(agent.id);
    const ownerName = (await ks.admin.get('/v1/users')).body.items.find(
      (u: { id: string }) => u.id === owner.id,
    ).name as string;
    expect(snapshot.ownerNames[owner.id]).toBe(ownerName);
    expect(snapshot.ownerNames[responder.id]).toBeUndefined(); // its own: the page says nothing
  });

  it("sends a flood of action events to each phone a few hundred a second, each action's newest once", async () => {
    // A bulk stop halts every queued action of every agent, one action.updated each.
    const responder = await createUser(ks, 'responder');
    const agent = await createAgent(owner.api, { name: 'flooded' });
    const heard: Record<string, { actionId: string; status: string }[]> = {
      responder: [],
      owner: [],
    };
    const listen = (who: string, socket: Socket) =>
      socket.on(
        'action.updated',
        (event: { agentId: string; actionId: string; status: string }) => {
          if (event.agentId === agent.id) {
            heard[who].push(event);
          }
        },
      );
    listen('responder', (await phone(responder)).socket);
    listen('owner', (await phone(owner)).socket);

    const redis = ks.app.get(RedisService, { strict: false });
    const actionId = (n: number) => `act_${agent.id.slice(4)}_${String(n).padStart(16, '0')}`;
    const events = 2000;
    const burst = redis.client.pipeline();
    const start = Date.now();
    for (let n = 1; n <= events; n++) {
      const event = { event: 'action.updated', agentId: agent.id, type: 'mail.send' };
      burst.publish(
        redis.keys.events(),
        JSON.stringify({ ...event, actionId: actionId(n), status: 'halted', at: start + n }),
      );
    }
    await burst.exec();

    const newest = Array.from({ length: 50 }, (_, i) => actionId(events - 49 + i));
    for (const who of ['responder', 'owner']) {
      await waitFor(
        () => heard[who].some((event) => event.actionId === actionId(events)),
        10_000,
        `the ${who}'s phone to hear the last action`,
      );
      // Events may come in a little out of order (each waits for its owner read): what is
      // still held goes out when its 250 ms window ends.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const ids = heard[who].map((event) => event.actionId);
      expect(new Set(ids).size).toBe(ids.length); // none twice
      expect(ids).toEqual(expect.arrayContaining(newest));
      // One per event would be 2,000: at most 50 at once, then 50 every 250 ms.
      expect(ids.length).toBeLessThan(events / 4);
    }
  });

  it('sends a responder the events of its own agents once, as a watcher of every agent', async () => {
    const responder = await createUser(ks, 'responder');
    const agent = await createAgent(responder.api, { name: 'own' });
    const { socket } = await phone(responder);
    const heard: string[] = [];
    socket.on('action.updated', (event: { agentId: string; actionId: string }) => {
      if (event.agentId === agent.id) {
        heard.push(event.actionId);
      }
    });
    const redis = ks.app.get(RedisService, { strict: false });
    const sent = Array.from(
      { length: 5 },
      (_, n) => `act_${agent.id.slice(4)}_000000000000000${n}`,
    );
    for (const id of sent) {
      await redis.client.publish(
        redis.keys.events(),
        JSON.stringify({
          event: 'action.updated',
          agentId: agent.id,
          actionId: id,
          type: 'mail.send',
          status: 'succeeded',
          at: Date.now(),
        }),
      );
    }
    await waitFor(() => heard.length >= sent.length, 5000, 'the five events');
    // A second copy, through the owner's room, would follow right behind the first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Each once (their order may change: each event waits for its agent's owner to be read).
    expect([...heard].sort()).toEqual(sent);
  });

  it("tells every owner of a large incident's agents about it, not only the first agents' owners", async () => {
    const responder = await createUser(ks, 'responder');
    // Another owner's agent comes last, after 55 of this owner's.
    const many = await Promise.all(Array.from({ length: 55 }, () => createAgent(owner.api)));
    const theirs = await createAgent(otherOwner.api);
    const { socket } = await phone(otherOwner);
    const told: { id: string; status: string }[] = [];
    socket.on('incident.updated', (incident: { id: string; status: string }) =>
      told.push(incident),
    );

    const stopped = await responder.api.post('/v1/revocations', {
      selector: { agentIds: [...many.map((a) => a.id), theirs.id] },
      reason: 'fleet compromised',
    });
    expect(stopped.status).toBe(200);
    await waitFor(
      () => told.some((i) => i.id === stopped.body.incidentId && i.status === 'done'),
      15_000,
      "the other owner's phone to hear the incident is done",
    );
  });

  it('lets a viewer stop nothing and an owner stop only their own agents', async () => {
    const theirs = await createAgent(otherOwner.api);
    const asViewer = await phone(viewer);
    const viewerAck = await asViewer.socket.timeout(5000).emitWithAck('stop', {
      agentId: theirs.id,
      requestId: randomUUID(),
    });
    expect(viewerAck).toMatchObject({ ok: false, code: 'forbidden' });
    const asOwner = await phone(owner);
    const ownerAck = await asOwner.socket.timeout(5000).emitWithAck('stop', {
      agentId: theirs.id,
      requestId: randomUUID(),
    });
    expect(ownerAck).toMatchObject({ ok: false, code: 'forbidden' });
    const labelAck = await asOwner.socket.timeout(5000).emitWithAck('stop', {
      selector: { all: true },
      requestId: randomUUID(),
    });
    expect(labelAck).toMatchObject({ ok: false, code: 'forbidden' });
    // A malformed selector is refused for the part that is wrong.
    const badAck = await asOwner.socket.timeout(5000).emitWithAck('stop', {
      selector: { agentIds: ['nope'] },
      requestId: randomUUID(),
    });
    expect(badAck).toMatchObject({ ok: false, code: 'bad_request' });
    expect(badAck.error).toMatch(/^selector.agentIds must be agent ids .*\(got "nope"\)$/);
    expect((await ks.admin.get(`/v1/agents/${theirs.id}`)).body.status).toBe('active');
  });

  it('refuses bad pairing codes and bad device tokens', async () => {
    const wrong = await new Api(relay.url).post('/v1/pair', {
      code: 'AAAA-BBBB-CC',
      deviceName: 'x',
    });
    expect(wrong.status).toBe(401);
    // A missing field gets one reason, not every rule it breaks.
    const unnamed = await new Api(relay.url).post('/v1/pair', { code: 'AAAA-BBBB-CC' });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.message).toMatch(/^deviceName [^;]+$/);
    const code = (await owner.api.post('/v1/devices/pairing-codes')).body.code;
    expect((await new Api(relay.url).post('/v1/pair', { code, deviceName: 'one' })).status).toBe(
      201,
    );
    // Single use.
    expect((await new Api(relay.url).post('/v1/pair', { code, deviceName: 'two' })).status).toBe(
      401,
    );
    const socket = connect(relay.url, '/devices', `ksd_${'A'.repeat(43)}`);
    sockets.push(socket);
    const error = await once<Error>(socket, 'connect_error');
    expect(error.message).toMatch(/device invalid/);
    expect(
      (await new Api(relay.url, 'ksd_nope').post('/v1/stop', { mine: true, requestId: 'r' }))
        .status,
    ).toBe(401);
    // An API key where a device token is taken: said so, not "pair this device again".
    const withKey = await new Api(relay.url, owner.apiKey).post('/v1/stop', {
      mine: true,
      requestId: 'r',
    });
    expect(withKey.status).toBe(401);
    expect(withKey.body.message).toMatch(/^This takes a paired device's token \(ksd_…/);
  });

  it("points a request sent to the other app's route at the right one", async () => {
    const onApi = await new Api(ks.url).post('/v1/pair', { code: 'x', deviceName: 'x' });
    expect(onApi.status).toBe(404);
    expect(onApi.body.message).toMatch(
      /^Cannot POST \/v1\/pair: no such route here; .*mobile relay/,
    );
    const agentsOnRelay = await new Api(relay.url, owner.apiKey).get('/v1/agents');
    expect(agentsOnRelay.status).toBe(404);
    expect(agentsOnRelay.body.message).toMatch(/the API is killswitch/);
  });

  it('disconnects a revoked device at once and refuses it afterwards', async () => {
    const { socket, deviceId, deviceToken } = await phone(owner);
    const listed = await owner.api.get('/v1/devices');
    expect(listed.body.items.map((d: { id: string }) => d.id)).toContain(deviceId);
    const disconnected = once<string>(socket, 'disconnect');
    expect((await owner.api.delete(`/v1/devices/${deviceId}`)).status).toBe(200);
    expect(await disconnected).toBe('io server disconnect');
    const again = connect(relay.url, '/devices', deviceToken);
    sockets.push(again);
    expect((await once<Error>(again, 'connect_error')).message).toMatch(/device invalid/);
  });

  it("lets an admin list and revoke all of a user's devices at once, disconnecting them", async () => {
    const user = await createUser(ks, 'responder');
    const [first, second] = [await phone(user), await phone(user)];
    const mine = await phone(otherOwner);
    // A code made just before, not used yet, and another user's.
    const unused = (await user.api.post('/v1/devices/pairing-codes')).body.code;
    const othersCode = (await otherOwner.api.post('/v1/devices/pairing-codes')).body.code;
    const listed = await ks.admin.get(`/v1/users/${user.id}/devices`);
    expect(listed.body.items.map((d: { id: string }) => d.id).sort()).toEqual(
      [first.deviceId, second.deviceId].sort(),
    );
    // Only admins: a responder may not cut off another user's phones.
    expect((await user.api.delete(`/v1/users/${otherOwner.id}/devices`)).status).toBe(403);
    expect((await user.api.get(`/v1/users/${otherOwner.id}/devices`)).status).toBe(403);

    const disconnected = [first, second].map(({ socket }) => once<string>(socket, 'disconnect'));
    const revoked = await ks.admin.delete(`/v1/users/${user.id}/devices`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.userId).toBe(user.id);
    expect([...revoked.body.revokedDevices].sort()).toEqual(
      [first.deviceId, second.deviceId].sort(),
    );
    expect(await Promise.all(disconnected)).toEqual([
      'io server disconnect',
      'io server disconnect',
    ]);
    expect(
      (await new Api(relay.url, first.deviceToken).post('/v1/stop', { mine: true, requestId: 'x' }))
        .status,
    ).toBe(401);
    expect((await ks.admin.get(`/v1/users/${user.id}/devices`)).body.items).toEqual([]);
    const pair = (code: string) =>
      new Api(relay.url).post('/v1/pair', { code, deviceName: 'after' });
    expect((await pair(unused)).status).toBe(401);
    expect((await pair(othersCode)).status).toBe(201);
    // Another user's phone is untouched.
    expect(mine.socket.connected).toBe(true);
    expect((await ks.admin.delete(`/v1/users/${user.id}/devices`)).body.revokedDevices).toEqual([]);
    expect((await ks.admin.delete('/v1/users/usr_0000000000000000/devices')).status).toBe(404);
  });

  it('shows a pairing code as a link to the phone page', async () => {
    const code = await owner.api.post('/v1/devices/pairing-codes');
    expect(code.body).toEqual({
      code: expect.stringMatching(/^[A-Z2-9]{10}$/),
      expiresAt: expect.any(String),
      pairingUrl: expect.stringMatching(/#pair=[A-Z2-9]{10}$/),
    });
    const page = await new Api(relay.url).get('/');
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('<html');
    // The page draws QR codes of pairing links with this library, served by the relay.
    const qr = await new Api(relay.url).get('/vendor/qrcode.js');
    expect(qr.status).toBe(200);
    expect(qr.headers.get('content-type')).toMatch(/javascript/);
    expect(String(qr.body)).toContain('qrcode');
  });
});

describe('pairing codes', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let relay: RunningApp;

  beforeAll(async () => {
    ks = await deployment.killswitch();
    relay = await deployment.relay();
  });

  afterAll(() => deployment.close());

  it('are kept only as their SHA-256, as API keys and tokens are', async () => {
    const owner = await createUser(ks, 'owner');
    const { code } = (await owner.api.post('/v1/devices/pairing-codes')).body as { code: string };
    const stored = await readPrefix(deployment.config.keyPrefix);
    // A reader of Redis (a replica, MONITOR, a backup) finds no code to pair a phone with.
    for (const [key, values] of stored) {
      expect([key, ...values].filter((text) => text.includes(code))).toEqual([]);
    }
    const hash = createHash('sha256').update(code).digest('hex');
    expect(stored.get(new Keys(deployment.config.keyPrefix).pairingCode(hash))).toEqual([owner.id]);
    // And the code still pairs, typed as people type it.
    const typed = `${code.slice(0, 4)}-${code.slice(4, 8)} ${code.slice(8)}`.toLowerCase();
    const paired = await new Api(relay.url).post('/v1/pair', { code: typed, deviceName: 'p' });
    expect(paired.status).toBe(201);
    expect(paired.body.user.id).toBe(owner.id);
  });

  it('are live 5 at a time per user: a sixth retires the oldest', async () => {
    const owner = await createUser(ks, 'owner');
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await owner.api.post('/v1/devices/pairing-codes');
      expect(created.status).toBe(201);
      codes.push(created.body.code as string);
    }
    const pair = (code: string) =>
      new Api(relay.url).post('/v1/pair', { code, deviceName: 'p' }).then((r) => r.status);
    expect(await pair(codes[0])).toBe(401);
    for (const code of codes.slice(1)) {
      expect(await pair(code)).toBe(201);
    }
  });
});

describe('two relays and two killswitch instances on one Redis', () => {
  const deployment = new TestDeployment();
  const sockets: Socket[] = [];

  afterAll(async () => {
    sockets.forEach((s) => s.disconnect());
    await deployment.close();
  });

  it('a stop on relay A reaches the agent on killswitch B, and phones on relay B see it', async () => {
    const [ksA, ksB, relayA, relayB] = await Promise.all([
      deployment.killswitch(),
      deployment.killswitch(),
      deployment.relay(),
      deployment.relay(),
    ]);
    const owner = await createUser(ksA, 'owner');
    const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
    const agentSocket = await connected(openAgentSocket(ksB.url, lease.token, sockets));
    const revokedPush = once<any>(agentSocket, 'lease.revoked');

    const onB = await pairPhone(ksA, relayB, owner, 'phone on B');
    const watcher = connect(relayB.url, '/devices', onB.deviceToken);
    sockets.push(watcher);
    await once(watcher, 'snapshot');
    const seenOnB = once<any>(watcher, 'agent.updated');

    const onA = await pairPhone(ksA, relayA, owner, 'phone on A');
    const stopper = connect(relayA.url, '/devices', onA.deviceToken);
    sockets.push(stopper);
    await once(stopper, 'snapshot');
    const ack = await stopper
      .timeout(5000)
      .emitWithAck('stop', { agentId: agent.id, requestId: randomUUID() });
    expect(ack.ok).toBe(true);
    expect(await revokedPush).toMatchObject({ agentId: agent.id, incidentId: ack.incidentId });
    expect(await seenOnB).toMatchObject({ id: agent.id, status: 'revoked' });
    await waitFor(
      async () => (await ksB.admin.get(`/v1/agents/${agent.id}`)).body.status === 'revoked',
    );
  });
});

describe('pairing attempts', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let relay: RunningApp;

  beforeAll(async () => {
    ks = await deployment.killswitch();
    relay = await deployment.relay();
  });

  afterAll(() => deployment.close());

  it('are limited per client even when it claims another address each time', async () => {
    const pair = (code: string, forwardedFor: string) =>
      new Api(relay.url).request<{ message?: string; retryAfterSeconds?: number }>(
        'POST',
        '/v1/pair',
        { code, deviceName: 'x' },
        {
          'x-forwarded-for': forwardedFor,
        },
      );
    for (let i = 0; i < 10; i++) {
      expect((await pair('AAAA-BBBB-CC', `203.0.113.${i}`)).status).toBe(401);
    }
    const owner = await createUser(ks, 'owner');
    const code = (await owner.api.post('/v1/devices/pairing-codes')).body.code as string;
    const refused = await pair(code, '198.51.100.7');
    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(/Too many wrong pairing codes.*try again in 15 minutes/);
    // How long, for clients that back off by themselves: the rest of the 15-minute window.
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(refused.body.retryAfterSeconds).toBe(retryAfter);
  });
});

describe('pairing attempts sent all at once', () => {
  const deployment = new TestDeployment();
  let relay: RunningApp;

  beforeAll(async () => {
    await deployment.killswitch();
    relay = await deployment.relay();
  });

  afterAll(() => deployment.close());

  it('try no more wrong codes than the limit, however many arrive together', async () => {
    // Each check and count is one step: none can pass the check before the others are counted.
    const replies = await Promise.all(
      Array.from({ length: 300 }, () =>
        new Api(relay.url).post('/v1/pair', { code: 'AAAA-BBBB-CC', deviceName: 'x' }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(290);
  });
});
