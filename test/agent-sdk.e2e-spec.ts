import {
  InvalidLeaseError,
  KillSwitch,
  KillSwitchError,
  KillSwitchRevokedError,
  KillSwitchUnreachableError,
  LeaseExpiredError,
  SessionClosedError,
  type KillSwitchAbortReason,
  type KillSwitchConnectOptions,
  type KillSwitchSession,
} from '../libs/agent-sdk/src';
import { RedisService } from '@app/redis';
import { RunningApp, SHORT_LEASES, TestDeployment } from './support/apps';
import {
  agentWithLease,
  createUser,
  revokeAgent,
  TestUser,
  waitForExpiry,
} from './support/factories';
import { freePort, waitFor } from './support/redis';
import { aborted, CountingFetch, HandleTracker, recordRevocations } from './support/sdk';

/** A lease token of the right shape that no server ever issued. */
const UNKNOWN_TOKEN = `ksl_${'A'.repeat(43)}`;

describe('agent SDK against a real killswitch', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  let owner: TestUser;
  const sessions: KillSwitchSession[] = [];

  beforeAll(async () => {
    ks = await deployment.killswitch();
    owner = await createUser(ks, 'owner');
  });

  afterAll(async () => {
    await Promise.all(sessions.map((session) => session.close()));
    await deployment.close();
  });

  /** Connects and remembers the session, so that afterAll closes it even if the test fails. */
  async function connect(options: KillSwitchConnectOptions): Promise<KillSwitchSession> {
    const session = await KillSwitch.connect(options);
    sessions.push(session);
    return session;
  }

  /**
   * The session sends one heartbeat in connect() and one more once its push channel is
   * connected (the server joins the socket to its agent's room before that). Waiting for the
   * second answer means the push channel is up and subscribed.
   */
  const pushChannelUp = (counting: CountingFetch) =>
    waitFor(() => counting.answered >= 2, 10_000, 'the push channel to connect');

  /** A new agent's session at `url`, heartbeating every 200 ms, once a few renewals got through. */
  async function renewingSession(counting: CountingFetch, url = ks.url) {
    const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
    const session = await connect({
      url,
      token: lease.token,
      fetch: counting.fetch,
      heartbeatIntervalMs: 200,
    });
    const revocations = recordRevocations(session);
    await waitFor(() => counting.answered >= 3, 10_000, 'a few renewals');
    return { agent, session, revocations };
  }

  describe('connect() and close()', () => {
    it('holds a live lease until closed, then aborts with "closed" and leaves no handles', async () => {
      const { lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
      const tracker = new HandleTracker();
      // The global fetch pools its connections beyond any one session: not the SDK's handles.
      const counting = new CountingFetch({ run: (request) => tracker.untracked(request) });
      try {
        const session = await tracker.track(() =>
          connect({ url: ks.url, token: lease.token, fetch: counting.fetch }),
        );
        const revocations = recordRevocations(session);

        expect(session.signal.aborted).toBe(false);
        expect(session.epoch).toBe(lease.epoch);
        expect(session.expiresAt.getTime()).toBeGreaterThanOrEqual(Date.parse(lease.expiresAt));
        expect(() => session.assertActive()).not.toThrow();
        await pushChannelUp(counting);
        expect(counting.statuses).toEqual([200, 200]);
        // The session really holds handles (heartbeat and deadline timers, the socket) ...
        expect(tracker.open()).toEqual(expect.arrayContaining(['Timeout', 'TCPWRAP']));

        await session.close();
        expect(session.signal.aborted).toBe(true);
        expect(session.signal.reason).toMatchObject({ cause: 'closed' });
        expect(() => session.assertActive()).toThrow(SessionClosedError);
        await session.close(); // idempotent
        expect(session.signal.reason).toMatchObject({ cause: 'closed' });

        // ... and none once closed. The request timeout of the last heartbeat
        // (AbortSignal.timeout, at most 5 s) is the one timer allowed to run out on its own.
        await waitFor(() => tracker.open().length === 0, 8_000).catch(() => undefined);
        expect(tracker.open()).toEqual([]);
        expect(revocations).toEqual([]);
        expect(counting.sent).toBe(2);
      } finally {
        tracker.stop();
      }
    });
  });

  describe('stopping a running agent', () => {
    it('aborts on the push, without waiting for a heartbeat', async () => {
      const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
      const counting = new CountingFetch();
      // Capped at half the TTL (30 s): no scheduled heartbeat falls within this test.
      const session = await connect({
        url: ks.url,
        token: lease.token,
        fetch: counting.fetch,
        heartbeatIntervalMs: 60_000,
      });
      const revocations = recordRevocations(session);
      await pushChannelUp(counting);
      const heartbeatsBefore = counting.sent;

      const revocation = await revokeAgent(owner.api, agent.id, 'pushed from the test');
      const { reason } = await aborted(session.signal, 5_000, 'the session');

      expect(reason).toEqual({
        cause: 'revoked',
        reason: 'pushed from the test',
        revokedAt: revocation.revokedAt,
        incidentId: revocation.incidentId,
      });
      expect(counting.sent).toBe(heartbeatsBefore);
      expect(revocations).toEqual([reason]);
      expect(() => session.assertActive()).toThrow(KillSwitchRevokedError);

      // Closing afterwards neither changes the reason nor notifies again.
      await session.close();
      expect(session.signal.reason).toEqual(reason);
      expect(revocations).toHaveLength(1);
      // A listener registered late still hears of the revocation.
      const late = await new Promise<KillSwitchAbortReason>((resolve) =>
        session.onRevoked(resolve),
      );
      expect(late).toEqual(reason);
    });

    it('aborts on the next heartbeat when the revocation push cannot arrive', async () => {
      // The session is told a URL where nothing listens, so its push channel never connects;
      // its heartbeats alone are carried to the real server.
      const nowhere = `http://127.0.0.1:${await freePort()}`;
      const counting = new CountingFetch({ rewrite: (url) => url.replace(nowhere, ks.url) });
      const { agent, session, revocations } = await renewingSession(counting, nowhere);
      expect(session.signal.aborted).toBe(false);

      // Counted before the call: a heartbeat sent while it runs may be the one that sees it.
      const heartbeatsAtRevocation = counting.sent;
      const revocation = await revokeAgent(owner.api, agent.id, 'no push for you');
      const { reason } = await aborted(session.signal, 5_000, 'the session');

      expect(reason).toEqual({
        cause: 'revoked',
        reason: 'no push for you',
        revokedAt: revocation.revokedAt,
        incidentId: revocation.incidentId,
      });
      expect(counting.sent).toBeGreaterThan(heartbeatsAtRevocation);
      expect(counting.statuses.at(-1)).toBe(401);
      expect(revocations).toEqual([reason]);
    });

    it('aborts with "invalid" once the server no longer knows its agent (no push is sent for that)', async () => {
      const counting = new CountingFetch();
      const { agent, session, revocations } = await renewingSession(counting);
      expect(session.signal.aborted).toBe(false);

      const heartbeatsAtDeletion = counting.sent;
      // Gone from under it (the API deletes only revoked agents, which were told already).
      const redis = ks.app.get(RedisService, { strict: false });
      expect(await redis.client.del(redis.keys.agent(agent.id))).toBe(1);
      const { reason } = await aborted(session.signal, 5_000, 'the session');

      expect(reason).toMatchObject({ cause: 'invalid' });
      expect(counting.sent).toBeGreaterThan(heartbeatsAtDeletion);
      expect(counting.statuses.at(-1)).toBe(401);
      expect(revocations).toEqual([reason]);
      expect(() => session.assertActive()).toThrow(InvalidLeaseError);
    });
  });

  describe('connect() refuses to start', () => {
    it('rejects a revoked lease with KillSwitchRevokedError and the operator’s reason', async () => {
      const { agent, lease } = await agentWithLease(owner.api, { ttlSeconds: 60 });
      const revocation = await revokeAgent(owner.api, agent.id, 'revoked before start');

      const error = await KillSwitch.connect({ url: ks.url, token: lease.token }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KillSwitchRevokedError);
      expect(error).toMatchObject({
        status: 'revoked',
        reason: 'revoked before start',
        revokedAt: revocation.revokedAt,
        incidentId: revocation.incidentId,
      });
    });

    it('rejects an unknown token with InvalidLeaseError', async () => {
      const error = await KillSwitch.connect({ url: ks.url, token: UNKNOWN_TOKEN }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidLeaseError);
      expect(error).toMatchObject({ status: 'invalid' });
    });

    it('rejects an expired lease with LeaseExpiredError', async () => {
      const { lease } = await agentWithLease(owner.api, { ttlSeconds: 1 });
      await waitForExpiry(lease);
      const error = await KillSwitch.connect({ url: ks.url, token: lease.token }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LeaseExpiredError);
      expect(error).toMatchObject({ status: 'expired' });
    });

    it('rejects with KillSwitchUnreachableError when nothing listens', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const error = await KillSwitch.connect({ url, token: UNKNOWN_TOKEN }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KillSwitchUnreachableError);
      expect(error).toBeInstanceOf(KillSwitchError);
      expect(error).toMatchObject({ status: 'unreachable' });
    });
  });
});

describe('agent SDK when the server goes away', () => {
  const deployment = new TestDeployment();
  let session: KillSwitchSession | undefined;

  afterAll(async () => {
    await session?.close();
    await deployment.close();
  });

  it('fails closed: aborts with "unreachable" before the lease expires', async () => {
    const app = await deployment.killswitch();
    const owner = await createUser(app, 'owner');
    const { lease } = await agentWithLease(owner.api, { ttlSeconds: 3 });
    const counting = new CountingFetch();
    session = await KillSwitch.connect({ url: app.url, token: lease.token, fetch: counting.fetch });
    const revocations = recordRevocations(session);
    await waitFor(() => counting.answered >= 2, 10_000, 'a renewal');

    await app.close();
    const abort = await aborted(session.signal, 10_000, 'the session');

    expect(abort.reason).toMatchObject({
      cause: 'unreachable',
      reason: expect.stringContaining('last error'),
    });
    // session.expiresAt is the expiry confirmed by the last successful renewal; nothing
    // renews it after the abort.
    expect(abort.at).toBeLessThan(session.expiresAt.getTime());
    expect(counting.failed).toBeGreaterThanOrEqual(1);
    expect(revocations).toEqual([abort.reason]);
    expect(() => session?.assertActive()).toThrow(KillSwitchUnreachableError);
  });
});

describe('agent SDK at the end of a lease lifetime', () => {
  // The last renewals leave less and less.
  const deployment = new TestDeployment(SHORT_LEASES);
  let ks: RunningApp;
  let session: KillSwitchSession | undefined;

  beforeAll(async () => {
    ks = await deployment.killswitch();
  });

  afterAll(async () => {
    await session?.close();
    await deployment.close();
  });

  it('keeps its pace and ends with "expired", naming the maximum lifetime', async () => {
    const owner = await createUser(ks, 'owner');
    const { lease } = await agentWithLease(owner.api, { ttlSeconds: 2 });
    const counting = new CountingFetch();
    session = await KillSwitch.connect({ url: ks.url, token: lease.token, fetch: counting.fetch });
    const { reason } = await aborted(session.signal, 10_000, 'the session');

    expect(reason).toMatchObject({
      cause: 'expired',
      reason: expect.stringMatching(/maximum lifetime at .+: no renewal can extend it/),
    });
    // One every third of the TTL, plus the first two: not ever faster as renewals shrink
    // (about 14 if paced on what each renewal left).
    expect(counting.sent).toBeLessThanOrEqual(8);
    expect(counting.statuses.every((status) => status === 200)).toBe(true);
  });
});
