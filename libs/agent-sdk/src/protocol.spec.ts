import { toKillSwitchError, KillSwitchRevokedError, KillSwitchUnreachableError } from './errors';
import { interpretHeartbeatResponse, resolveEndpoints, revocationFromPush } from './protocol';

describe('resolveEndpoints', () => {
  it('derives the heartbeat URL and the /agents namespace', () => {
    expect(resolveEndpoints('http://127.0.0.1:3000')).toEqual({
      heartbeatUrl: 'http://127.0.0.1:3000/v1/leases/heartbeat',
      socketUrl: 'http://127.0.0.1:3000/agents',
      socketPath: '/socket.io',
    });
  });

  it('moves a path prefix into the Socket.IO engine path', () => {
    expect(resolveEndpoints('https://ops.example.com/killswitch/')).toEqual({
      heartbeatUrl: 'https://ops.example.com/killswitch/v1/leases/heartbeat',
      socketUrl: 'https://ops.example.com/agents',
      socketPath: '/killswitch/socket.io',
    });
  });

  it('rejects relative and non-http URLs', () => {
    expect(() => resolveEndpoints('/v1')).toThrow(TypeError);
    expect(() => resolveEndpoints('ws://127.0.0.1:3000')).toThrow(TypeError);
  });
});

describe('interpretHeartbeatResponse', () => {
  it('accepts a well-formed renewal', () => {
    const outcome = interpretHeartbeatResponse(200, {
      status: 'active',
      expiresAt: '2030-01-01T00:00:30.000Z',
      epoch: 7,
    });
    expect(outcome).toEqual({
      kind: 'active',
      expiresAt: new Date('2030-01-01T00:00:30.000Z'),
      epoch: 7,
    });
  });

  it('reads the maximum lifetime when the server says it, and ignores a malformed one', () => {
    const renewal = { status: 'active', expiresAt: '2030-01-01T00:00:30.000Z', epoch: 7 };
    expect(
      interpretHeartbeatResponse(200, { ...renewal, maxExpiresAt: '2030-01-01T12:00:00.000Z' }),
    ).toEqual({
      kind: 'active',
      expiresAt: new Date('2030-01-01T00:00:30.000Z'),
      epoch: 7,
      maxExpiresAt: new Date('2030-01-01T12:00:00.000Z'),
    });
    expect(interpretHeartbeatResponse(200, { ...renewal, maxExpiresAt: 'later' })).toEqual({
      kind: 'active',
      expiresAt: new Date('2030-01-01T00:00:30.000Z'),
      epoch: 7,
    });
  });

  it.each([
    ['no expiry', { status: 'active', epoch: 1 }],
    ['unparseable expiry', { status: 'active', expiresAt: 'soon', epoch: 1 }],
    ['no epoch', { status: 'active', expiresAt: '2030-01-01T00:00:30.000Z' }],
    ['non-JSON body', undefined],
  ])('does not treat a 200 with %s as a renewal', (_label, body) => {
    expect(interpretHeartbeatResponse(200, body).kind).toBe('failed');
  });

  it('maps a 401 revocation with its details', () => {
    expect(
      interpretHeartbeatResponse(401, {
        status: 'revoked',
        reason: 'runaway spend',
        revokedAt: '2030-01-01T00:00:00.000Z',
      }),
    ).toEqual({
      kind: 'revoked',
      reason: 'runaway spend',
      revokedAt: '2030-01-01T00:00:00.000Z',
      incidentId: undefined,
    });
  });

  it('maps 401 expired and invalid', () => {
    expect(interpretHeartbeatResponse(401, { status: 'expired' })).toEqual({ kind: 'expired' });
    expect(interpretHeartbeatResponse(401, { status: 'invalid' })).toEqual({ kind: 'invalid' });
  });

  it('fails closed on a 401 it cannot read', () => {
    expect(interpretHeartbeatResponse(401, undefined)).toEqual({ kind: 'invalid' });
    expect(interpretHeartbeatResponse(401, { message: 'Unauthorized' })).toEqual({
      kind: 'invalid',
    });
  });

  it('treats server errors and other statuses as retryable', () => {
    expect(interpretHeartbeatResponse(503, undefined).kind).toBe('failed');
    expect(interpretHeartbeatResponse(502, { message: 'Bad Gateway' }).kind).toBe('failed');
    expect(interpretHeartbeatResponse(429, {}).kind).toBe('failed');
  });

  it('honours a terminal status whatever the HTTP status', () => {
    expect(interpretHeartbeatResponse(200, { status: 'revoked' })).toMatchObject({
      kind: 'revoked',
    });
    expect(interpretHeartbeatResponse(500, { status: 'expired' })).toEqual({ kind: 'expired' });
  });
});

describe('revocationFromPush', () => {
  it('carries the payload details', () => {
    expect(
      revocationFromPush({
        agentId: 'agt_1',
        reason: 'operator stop',
        revokedAt: '2030-01-01T00:00:00.000Z',
        incidentId: 'inc_9',
      }),
    ).toEqual({
      cause: 'revoked',
      reason: 'operator stop',
      revokedAt: '2030-01-01T00:00:00.000Z',
      incidentId: 'inc_9',
    });
  });

  it('still revokes on a malformed payload', () => {
    expect(revocationFromPush(null)).toEqual({
      cause: 'revoked',
      reason: 'revoked by push notification',
    });
    expect(revocationFromPush({ reason: 42 })).toEqual({
      cause: 'revoked',
      reason: 'revoked by push notification',
    });
  });
});

describe('toKillSwitchError', () => {
  it('maps each cause to its typed error', () => {
    const revoked = toKillSwitchError({ cause: 'revoked', reason: 'stop', incidentId: 'inc_1' });
    expect(revoked).toBeInstanceOf(KillSwitchRevokedError);
    expect(revoked).toMatchObject({ status: 'revoked', reason: 'stop', incidentId: 'inc_1' });
    expect(toKillSwitchError({ cause: 'unreachable' })).toBeInstanceOf(KillSwitchUnreachableError);
    expect(toKillSwitchError({ cause: 'closed' }).status).toBe('closed');
  });
});
