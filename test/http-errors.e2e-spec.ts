import { RunningApp, TestDeployment } from './support/apps';
import { Reply, sendRaw } from './support/http';

/** `{"a": [[…]]}`: an object holding arrays, `depth` levels in all. */
const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

/** What every error answer is: `{error, message}` and nothing else. */
function expectError(reply: Reply, status: number, error: string, message: string | RegExp) {
  expect(reply.status).toBe(status);
  expect(Object.keys(reply.body as object).sort()).toEqual(['error', 'message']);
  expect(reply.body.error).toBe(error);
  if (typeof message === 'string') {
    expect(reply.body.message).toBe(message);
  } else {
    expect(reply.body.message).toMatch(message);
  }
}

describe('HTTP-level errors have the {error, message} shape', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let relay: RunningApp;

  beforeAll(async () => {
    [ks, relay] = await Promise.all([deployment.killswitch(), deployment.relay()]);
  });

  afterAll(() => deployment.close());

  const userCount = async () => (await ks.admin.get('/v1/users')).body.items.length as number;
  const postUsers = (body: string, contentType = 'application/json') =>
    ks.admin.request('POST', '/v1/users', body, { 'content-type': contentType });

  describe('JSON bodies', () => {
    it('refuses a body nesting deeper than 64 levels with 400, and creates nothing', async () => {
      const before = await userCount();
      const deep = `{"name":"x","role":"owner","n":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      expectError(
        await postUsers(deep),
        400,
        'bad_request',
        'The body nests deeper than 64 levels',
      );
      expectError(
        await postUsers(nested(65)),
        400,
        'bad_request',
        'The body nests deeper than 64 levels',
      );
      // 64 levels get through to validation, which finds the real mistake.
      expectError(await postUsers(nested(64)), 400, 'bad_request', /property a should not exist/);
      expect(await userCount()).toBe(before);
    });

    it('refuses a body naming a field twice, however it is spelt, and creates nothing', async () => {
      const before = await userCount();
      // JSON.parse would keep the last: an admin, where a proxy or a log reading the first sees
      // a viewer.
      expectError(
        await postUsers('{"name":"twice","role":"viewer","role":"admin"}'),
        400,
        'bad_request',
        'The body names "role" twice in one object; send each field once',
      );
      expectError(
        await postUsers('{"name":"twice","role":"viewer","\\u0072ole" : "admin"}'),
        400,
        'bad_request',
        'The body names "role" twice in one object; send each field once',
      );
      expect(await userCount()).toBe(before);
    });

    it('refuses a deep body on the relay before anything reads it, to anyone', async () => {
      const deep = `{"code":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
      const reply = await relay.anonymous.request('POST', '/v1/pair', deep, {
        'content-type': 'application/json',
      });
      expectError(reply, 400, 'bad_request', 'The body nests deeper than 64 levels');
    });

    it.each([
      [
        'invalid JSON',
        '{"name":',
        "Body is not valid JSON but content-type is set to 'application/json'",
      ],
      ['an empty body', '', "Body cannot be empty when content-type is set to 'application/json'"],
      [
        'a __proto__ key',
        '{"name":"p","role":"owner","__proto__":{"role":"admin"}}',
        "Body is not valid JSON but content-type is set to 'application/json'",
      ],
      [
        'a constructor.prototype key',
        '{"name":"p","role":"owner","constructor":{"prototype":{"role":"admin"}}}',
        "Body is not valid JSON but content-type is set to 'application/json'",
      ],
    ])('refuses %s with 400, and creates nothing', async (_, body, message) => {
      const before = await userCount();
      expectError(await postUsers(body), 400, 'bad_request', message);
      expect(await userCount()).toBe(before);
    });

    it('refuses a body over the limit with 413', async () => {
      const body = JSON.stringify({ name: 'x'.repeat(70 * 1024), role: 'owner' });
      expectError(await postUsers(body), 413, 'payload_too_large', 'Request body is too large');
    });
  });

  describe('URLs', () => {
    it('answers an overlong path parameter like a malformed id, without echoing it', async () => {
      const long = `usr_${'a'.repeat(200)}`;
      for (const reply of [
        await ks.admin.post(`/v1/users/${long}/keys`),
        await ks.admin.get(`/v1/agents/${long}`),
        await ks.anonymous.get(`/v1/agents/${long}`),
      ]) {
        expectError(reply, 400, 'bad_request', /over 100 characters long/);
        expect(reply.body.message).not.toContain('aaaa');
      }
      // 100 characters still reach the route, which says what an id looks like.
      expectError(
        await ks.admin.get(`/v1/agents/${'a'.repeat(100)}`),
        400,
        'bad_request',
        /must be an agent id/,
      );
    });

    it('answers a path that does not decode with 400, without echoing it', async () => {
      const reply = await ks.admin.get('/v1/agents/%E0%A4%A');
      expectError(reply, 400, 'bad_request', /does not decode/);
      expect(reply.body.message).not.toContain('%E0');
    });
  });

  describe('requests Node refuses before any handler', () => {
    it.each([
      ['API', () => ks],
      ['relay', () => relay],
    ])('answers headers over 16 KiB with 431 (%s)', async (_, app) => {
      const reply = await app().anonymous.request('GET', '/health/live', undefined, {
        'x-padding': 'a'.repeat(17 * 1024),
      });
      expectError(reply, 431, 'headers_too_large', "The request's headers are larger than 16 KiB");
    });

    it.each([
      ['API', () => ks],
      ['relay', () => relay],
    ])('answers a request that is not HTTP with 400 (%s)', async (_, app) => {
      const [reply, ...more] = await sendRaw(app().url, 'NOT HTTP\r\n\r\n');
      expectError(reply, 400, 'bad_request', /^The request is not valid HTTP/);
      expect(more).toEqual([]);
    });

    it('answers a body longer than its content-length with 400, and creates nothing', async () => {
      const before = await userCount();
      const body = '{"name":"cl-mismatch","role":"owner"}';
      const replies = await sendRaw(
        ks.url,
        'POST /v1/users HTTP/1.1\r\nhost: localhost\r\n' +
          `authorization: Bearer ${ks.adminKey}\r\ncontent-type: application/json\r\n` +
          `content-length: 5\r\n\r\n${body}`,
      );
      // The rest of the body reads as a next request that is not HTTP; the first request (a
      // body of `{"nam`) may be answered before the connection closes, or not.
      expect(replies.length).toBeGreaterThan(0);
      for (const reply of replies) {
        expectError(reply, 400, 'bad_request', /./);
      }
      expectError(replies.at(-1)!, 400, 'bad_request', /^The request is not valid HTTP/);
      expect(await userCount()).toBe(before);
    });
  });
});
