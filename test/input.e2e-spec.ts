import { RunningApp, TestDeployment } from './support/apps';
import {
  createAgent,
  createUser,
  issueLease,
  waitForIncident,
  type Agent,
  type TestUser,
} from './support/factories';
import { Api } from './support/http';
import { snapshotPrefix } from './support/redis';

/**
 * Bad input gets a clear 400 and changes nothing: the cases where it once did not (a `null`
 * read as "absent", a loose date, a blank reason, control characters, a body a route ignores).
 * Every refusal is checked against a snapshot of every key the deployment has.
 */
describe('bad input is refused and changes nothing', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let owner: TestUser;
  let responder: TestUser;
  let agent: Agent;

  beforeAll(async () => {
    ks = await deployment.killswitch();
    owner = await createUser(ks, 'owner');
    responder = await createUser(ks, 'responder');
    agent = await createAgent(owner.api);
  });

  afterAll(() => deployment.close());

  /** Sends a refused request and checks its answer, and that no key changed. */
  const refused = async (
    send: () => Promise<{ status: number; body: any }>,
    message: RegExp,
    status = 400,
  ) => {
    const before = await snapshotPrefix(deployment.config.keyPrefix);
    const reply = await send();
    expect({ status: reply.status, body: reply.body }).toEqual({
      status,
      body: {
        error: status === 400 ? 'bad_request' : 'unauthenticated',
        message: expect.any(String),
      },
    });
    expect(reply.body.message).toMatch(message);
    expect(await snapshotPrefix(deployment.config.keyPrefix)).toEqual(before);
  };

  describe('null is not "absent"', () => {
    it('a dry run sent as dryRun: null is refused, not carried out for real', async () => {
      await refused(
        () =>
          responder.api.post('/v1/revocations', {
            selector: { agentIds: [agent.id] },
            reason: 'meant as a dry run',
            dryRun: null,
          }),
        /^dryRun must be true or false$/,
      );
    });

    it.each([
      ['revoke', { reason: null }, /^reason must be a string$/],
      ['revoke', { rollback: null }, /^rollback must be "none", "epoch" or/],
      ['agent', { name: 'n', labels: null }, /^labels must be an object/],
      ['agent', { name: 'n', concurrency: null }, /^concurrency must be a whole number$/],
      ['lease', { ttlSeconds: null }, /^ttlSeconds must be a whole number of seconds$/],
    ])('%s %j', async (route, body, message) => {
      const path = {
        revoke: `/v1/agents/${agent.id}/revoke`,
        agent: '/v1/agents',
        lease: `/v1/agents/${agent.id}/leases`,
      }[route]!;
      await refused(() => owner.api.post(path, body), message);
    });
  });

  it.each([
    ['1', /ISO 8601 time with a zone/],
    ['x 1', /ISO 8601 time with a zone/],
    ['March 7', /ISO 8601 time with a zone/],
    ['2026-11-27 14:00', /ISO 8601 time with a zone/],
    ['2026-11-27T14:00:00', /ISO 8601 time with a zone/],
    ['2020-02-30T00:00:00Z', /not a real time/],
    ['2999-01-01T00:00:00Z', /in the future/],
  ])('rollback since %j is refused (a loose date could roll back everything)', async (since, m) => {
    await refused(
      () => owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'x', rollback: { since } }),
      m,
    );
  });

  it.each([
    ['revoke', '   \t '],
    ['bulk', '  '],
  ])('a blank reason on a %s is refused, as an empty one is', async (kind, reason) => {
    await refused(
      () =>
        kind === 'revoke'
          ? owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason })
          : responder.api.post('/v1/revocations', { selector: { agentIds: [agent.id] }, reason }),
      /^reason must not be blank$/,
    );
  });

  describe('control characters in text people read', () => {
    it.each([
      ['a NUL', 'a\u0000b'],
      ['a terminal escape', '\u001b[31mred'],
      ['a right-to-left override', '\u202eevil'],
      ['a line break', 'two\nlines'],
    ])('an agent name with %s', async (_, name) => {
      await refused(
        () => owner.api.post('/v1/agents', { name }),
        /^name must be one line without control characters$/,
      );
    });

    it('a user name with a bell', async () => {
      await refused(
        () => ks.admin.post('/v1/users', { name: 'ding\u0007', role: 'viewer' }),
        /^name must be one line without control characters$/,
      );
    });

    it('a reason with a NUL (line breaks and tabs are fine in a reason)', async () => {
      await refused(
        () => owner.api.post(`/v1/agents/${agent.id}/revoke`, { reason: 'ok\u0000' }),
        /^reason must not contain control characters \(line feeds and tabs are fine\)$/,
      );
      await refused(
        () => ks.admin.post(`/v1/agents/${agent.id}/reinstate`, { reason: 'ok\u001b[2J' }),
        /^reason must not contain control characters/,
      );
    });
  });

  it.each([
    ['users', { name: 5, role: 'owner' }, /^name must be a string$/],
    ['agents', { name: 'n', concurrency: '2' }, /^concurrency must be a whole number$/],
    ['agents', { name: 'n', allowedActions: 'email.send' }, /^allowedActions must be an array/],
    ['leases', { ttlSeconds: '30' }, /^ttlSeconds must be a whole number of seconds$/],
    ['revocations', { selector: { all: true }, dryRun: 'true' }, /^dryRun must be true or false$/],
  ])('a wrong type on %s %j is named as such', async (route, body, message) => {
    const send = {
      users: () => ks.admin.post('/v1/users', body),
      agents: () => owner.api.post('/v1/agents', body),
      leases: () => owner.api.post(`/v1/agents/${agent.id}/leases`, body),
      revocations: () => responder.api.post('/v1/revocations', body),
    }[route]!;
    await refused(send, message);
  });

  it.each([
    ['users', {}, /^name is required: a string; role is required: one of viewer, owner, responder/],
    ['agents', {}, /^name is required: a string$/],
    ['reinstate', {}, /^reason is required: a string$/],
    ['resolve', {}, /^note is required: a string$/],
    ['revocations', { reason: 'x' }, /^selector is required: exactly one of \{agentIds: /],
    ['action type', { reversible: false }, /^executor is required: an object such as/],
  ])('a field left out of %s %j is named as required', async (route, body, message) => {
    const send = {
      users: () => ks.admin.post('/v1/users', body),
      agents: () => owner.api.post('/v1/agents', body),
      reinstate: () => ks.admin.post(`/v1/agents/${agent.id}/reinstate`, body),
      resolve: () => responder.api.post('/v1/incidents/inc_0000000000000000/resolve', body),
      revocations: () => responder.api.post('/v1/revocations', body),
      'action type': () => ks.admin.put('/v1/action-types/never.stored', body),
    }[route]!;
    await refused(send, message);
  });

  describe('X-Killswitch-Client', () => {
    it.each([
      ['device', /is for stops from paired phones/],
      ['My Bot', /must be 1 to 32 lowercase letters/],
    ])('%j is refused', async (client, message) => {
      await refused(
        () =>
          owner.api.request(
            'POST',
            `/v1/agents/${agent.id}/revoke`,
            { reason: 'x' },
            {
              'x-killswitch-client': client,
            },
          ),
        message,
      );
    });

    it("names the caller's interface on the record", async () => {
      const me = await owner.api.request<{ via: string }>('GET', '/v1/me', undefined, {
        'x-killswitch-client': 'pager-bot',
      });
      expect(me.status).toBe(200);
      expect(me.body.via).toBe('pager-bot');
    });
  });

  describe('a body or query string on a route that takes none', () => {
    it('is refused field by field, rather than ignored', async () => {
      await refused(
        () => owner.api.post('/v1/devices/pairing-codes', { userId: responder.id, ttl: 99999 }),
        /^This route takes no body: property userId should not exist; property ttl should not exist$/,
      );
      const lease = await issueLease(owner.api, agent.id);
      await refused(
        () => owner.api.as(lease.token).post('/v1/leases/heartbeat', { evil: 1 }),
        /property evil should not exist/,
      );
      await refused(
        () => owner.api.request('DELETE', `/v1/agents/${agent.id}`, { force: true }),
        /^This route takes no body: property force should not exist$/,
      );
    });

    it('a query string on a route that reads none is refused too', async () => {
      await refused(
        () => ks.admin.get('/v1/users?limit=-1'),
        /^This route takes no query parameters: property limit should not exist$/,
      );
      await refused(() => owner.api.get(`/v1/agents/${agent.id}?x=1`), /property x should not/);
    });

    it('an empty object is fine', async () => {
      const code = await owner.api.post('/v1/devices/pairing-codes', {});
      expect(code.status).toBe(201);
      const lease = await issueLease(owner.api, agent.id);
      expect((await owner.api.as(lease.token).post('/v1/leases/heartbeat', {})).status).toBe(200);
    });
  });

  it.each([
    ['[]', 'an array'],
    ['null', 'null'],
    ['5', 'a number'],
    ['"stop"', 'a string'],
  ])('a JSON body that is not an object (%s) is refused', async (body, kind) => {
    await refused(
      () =>
        owner.api.request('POST', `/v1/agents/${agent.id}/revoke`, body, {
          'content-type': 'application/json',
        }),
      new RegExp(`^The body must be a JSON object \\(\\{…\\}\\), not ${kind}$`),
    );
  });

  it('a label filter no agent could match is refused, not answered with an empty list', async () => {
    await refused(
      () => owner.api.get(`/v1/agents?label=${'k'.repeat(64)}=v`),
      /^label must look like key=value/,
    );
    await refused(() => owner.api.get('/v1/agents?label=team%20x=infra'), /^label must look like/);
    expect((await owner.api.get('/v1/agents?label=env=test')).body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: agent.id })]),
    );
  });

  it('the Markdown report refuses the cuts that only the JSON takes', async () => {
    const other = await createAgent(owner.api);
    const { incidentId } = (await owner.api.post(`/v1/agents/${other.id}/revoke`, {})).body;
    // Done first: its follow-up would change keys while the refusal is checked.
    await waitForIncident(owner.api, incidentId);
    await refused(
      () => owner.api.get(`/v1/incidents/${incidentId}?format=md&timeline=1&agents=0`),
      /^format=md is always the whole incident: timeline, agents apply to JSON only$/,
    );
  });

  it('says when credentials came in a form it does not read', async () => {
    await refused(
      () =>
        new Api(ks.url).request('GET', '/v1/me', undefined, {
          authorization: `Basic ${Buffer.from('a:b').toString('base64')}`,
        }),
      /^Credentials not understood: send exactly "Authorization: Bearer <key>"$/,
      401,
    );
  });

  it('takes what is well formed: a multi-line reason, a rollback since an ISO time', async () => {
    const other = await createAgent(owner.api);
    const since = new Date(Date.now() - 3_600_000).toISOString().replace('Z', '+00:00');
    const reply = await owner.api.post(`/v1/agents/${other.id}/revoke`, {
      reason: 'deleting mail\n\tsee ticket 42',
      rollback: { since },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.reason).toBe('deleting mail\n\tsee ticket 42');
  });
});
