import { ROLES } from '@app/auth';
import { RunningApp, TestDeployment } from './support/apps';
import { join } from 'node:path';
import { Api } from './support/http';
import { runToEnd } from './support/process';

describe('API keys and roles', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;

  beforeAll(async () => {
    ks = await deployment.killswitch();
  });

  afterAll(() => deployment.close());

  const createUser = async (role: string, name = `${role}-user`) => {
    const reply = await ks.admin.post('/v1/users', { name, role });
    expect(reply.status).toBe(201);
    return reply.body as { id: string; name: string; role: string; apiKey: string };
  };

  it('answers 401 without credentials', async () => {
    const reply = await ks.anonymous.get('/v1/users');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({
      error: 'unauthenticated',
      message: expect.stringContaining('Bearer'),
    });
  });

  it.each([
    ['an unknown key', `ksk_${'A'.repeat(43)}`],
    ['a key with the wrong prefix', `ksl_${'A'.repeat(43)}`],
    ['a truncated key', 'ksk_abc'],
  ])('answers 401 for %s', async (_, key) => {
    const reply = await ks.anonymous.as(key).get('/v1/users');
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe('unauthenticated');
  });

  it('lets the bootstrap admin create users of every role, each with a working key', async () => {
    for (const role of ROLES) {
      const user = await createUser(role);
      expect(user).toEqual({
        id: expect.stringMatching(/^usr_[0-9a-f]{16}$/),
        name: `${role}-user`,
        role,
        createdAt: expect.any(String),
        apiKey: expect.stringMatching(/^ksk_[A-Za-z0-9_-]{43}$/),
      });
      const me = await new Api(ks.url, user.apiKey).get('/v1/me');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ kind: 'user', userId: user.id, role });
    }
    const list = await ks.admin.get('/v1/users');
    expect(list.status).toBe(200);
    expect(list.body.items.map((u: { role: string }) => u.role)).toEqual(
      expect.arrayContaining([...ROLES]),
    );
    // Key material never comes back after creation.
    expect(JSON.stringify(list.body)).not.toContain('ksk_');
  });

  it('answers 403 when the role is too weak', async () => {
    for (const role of ['viewer', 'owner', 'responder']) {
      const user = await createUser(role);
      const reply = await new Api(ks.url, user.apiKey).post('/v1/users', {
        name: 'x',
        role: 'admin',
      });
      expect(reply.status).toBe(403);
      expect(reply.body).toEqual({
        error: 'forbidden',
        message: expect.stringContaining('admin'),
      });
    }
  });

  it('answers 401 once a key is revoked, and a newly issued key works', async () => {
    const user = await createUser('owner');
    const asUser = new Api(ks.url, user.apiKey);
    expect((await asUser.get('/v1/me')).status).toBe(200);

    const revoke = await ks.admin.delete(`/v1/users/${user.id}/keys`);
    expect(revoke.status).toBe(200);
    expect(revoke.body).toEqual({ userId: user.id, revokedKeys: 1 });
    expect((await asUser.get('/v1/me')).status).toBe(401);

    const issued = await ks.admin.post(`/v1/users/${user.id}/keys`);
    expect(issued.status).toBe(201);
    expect((await new Api(ks.url, issued.body.apiKey).get('/v1/me')).status).toBe(200);
    expect((await asUser.get('/v1/me')).status).toBe(401);
  });

  it.each([
    [{ name: 'x', role: 'superuser' }, /role must be one of viewer, owner, responder, admin/],
    [{ role: 'owner' }, /name/],
    [{ name: '   ', role: 'owner' }, /name must not be blank/],
    [{ name: 'x', role: 'owner', extra: 1 }, /property extra should not exist/],
  ])('rejects a malformed user %j with 400 and creates nothing', async (body, message) => {
    const before = (await ks.admin.get('/v1/users')).body.items.length;
    const reply = await ks.admin.post('/v1/users', body);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('bad_request');
    expect(reply.body.message).toMatch(message);
    expect((await ks.admin.get('/v1/users')).body.items.length).toBe(before);
  });

  it('refuses a body that is not JSON with 415, saying so, and changes nothing', async () => {
    const admin = { authorization: `Bearer ${ks.adminKey}` };
    const send = (contentType: string | undefined, body: string, headers: object = admin) =>
      fetch(`${ks.url}/v1/users`, {
        method: 'POST',
        headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
        // Bytes, not a string: fetch sends a string as text/plain when no type is given.
        body: Buffer.from(body),
      });
    const before = (await ks.admin.get('/v1/users')).body.items.length;
    for (const [type, body] of <Array<[string | undefined, string]>>[
      ['text/plain', '{"name": "plain", "role": "viewer"}'],
      ['application/x-www-form-urlencoded', 'name=form&role=viewer'],
      ['application/octet-stream', '{"name": "bytes", "role": "viewer"}'],
      [undefined, '{"name": "untyped", "role": "viewer"}'],
    ]) {
      const reply = await send(type, body);
      expect(reply.status).toBe(415);
      expect(await reply.json()).toEqual({
        error: 'unsupported_media_type',
        message: `Send the body as JSON, with "content-type: application/json"; this one came as ${type ?? 'no content type'}`,
      });
    }
    expect((await ks.admin.get('/v1/users')).body.items).toHaveLength(before);
    expect(
      (await send('application/json; charset=utf-8', '{"name":"json","role":"viewer"}')).status,
    ).toBe(201);
    // A caller without credentials hears that first, not what is wrong with the body, whatever
    // its type.
    for (const type of ['text/plain', 'application/octet-stream', undefined]) {
      const anonymous = await send(type, 'name=x', {});
      expect(anonymous.status).toBe(401);
    }
  });

  it('says so when a credential of another kind is sent', async () => {
    const viewer = await createUser('viewer');
    const lease = `ksl_${'0'.repeat(16)}${'A'.repeat(43)}`;
    const asKey = await ks.anonymous.as(lease).get('/v1/me');
    expect(asKey.status).toBe(401);
    expect(asKey.body.message).toBe(
      "This takes an API key (ksk_…), and this is an agent's lease token (ksl_…)",
    );
    const asLease = await ks.anonymous.as(viewer.apiKey).post('/v1/leases/heartbeat', {});
    expect(asLease.status).toBe(401);
    expect(asLease.body).toMatchObject({
      status: 'invalid',
      message: "This takes an agent's lease token (ksl_…), and this is an API key (ksk_…)",
    });
  });

  it('answers 404 for keys of an unknown user and 400 for a malformed id', async () => {
    expect((await ks.admin.delete('/v1/users/usr_0000000000000000/keys')).status).toBe(404);
    expect((await ks.admin.delete('/v1/users/nope/keys')).status).toBe(400);
  });
});

describe('admin bootstrap', () => {
  it('creates exactly one admin when two instances start at once, and not again later', async () => {
    const deployment = new TestDeployment();
    try {
      const [a] = await Promise.all([deployment.killswitch(), deployment.killswitch()]);
      const users = (await a.admin.get('/v1/users')).body.items;
      expect(users.filter((u: { role: string }) => u.role === 'admin')).toHaveLength(1);
      await a.close();
      const again = await deployment.killswitch();
      expect((await again.admin.get('/v1/users')).body.items).toHaveLength(1);
      await again.close();
    } finally {
      await deployment.close();
    }
  });

  it('issues a new admin key from the command line when the first one is lost', async () => {
    const deployment = new TestDeployment();
    try {
      const ks = await deployment.killswitch();
      const adminKey = (args: string[] = [], keyPrefix = deployment.config.keyPrefix) =>
        runToEnd(
          join(__dirname, '..', 'scripts/admin-key.js'),
          args,
          { REDIS_URL: deployment.config.redisUrl, KEY_PREFIX: keyPrefix },
          15_000,
        );
      const issued = await adminKey();
      expect(issued.code).toBe(0);
      const key = /ksk_[A-Za-z0-9_-]+/.exec(issued.stdout)?.[0] ?? '';
      expect((await new Api(ks.url, key).get('/v1/me')).body).toMatchObject({ role: 'admin' });
      // The first key still works.
      expect((await ks.admin.get('/v1/me')).status).toBe(200);

      const unknown = await adminKey(['usr_0000000000000000']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(
        /^admin-key: usr_0000000000000000 is not an admin \(admins: usr_/,
      );
      const empty = await adminKey([], `${deployment.config.keyPrefix}-none`);
      expect(empty.stderr).toMatch(/no admin exists under this KEY_PREFIX/);
    } finally {
      await deployment.close();
    }
  });
});
