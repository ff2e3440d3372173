import {
  failClosedDelayMs,
  heartbeatDelayMs,
  remainingLeaseMs,
  requestTimeoutMs,
  retryDelayMs,
  safetyMarginMs,
} from './schedule';

describe('remainingLeaseMs', () => {
  const expiresAt = Date.parse('2030-01-01T00:00:30.000Z');

  it('uses the local clock when no server date is known', () => {
    expect(remainingLeaseMs(expiresAt, expiresAt - 30_000)).toBe(30_000);
  });

  it('keeps the local estimate when the server date lags it (the normal case)', () => {
    const localNow = expiresAt - 30_000;
    // Date headers are truncated to the second, so they trail the real clock.
    expect(remainingLeaseMs(expiresAt, localNow, localNow - 900)).toBe(30_000);
  });

  it('shortens the lease when the local clock runs behind the server', () => {
    const localNow = expiresAt - 30_000;
    expect(remainingLeaseMs(expiresAt, localNow, localNow + 5_000)).toBe(25_000);
  });

  it('ignores an unparseable server date', () => {
    expect(remainingLeaseMs(expiresAt, expiresAt - 10_000, Number.NaN)).toBe(10_000);
  });
});

describe('fail-closed deadline', () => {
  it('keeps a 1 s margin on long leases', () => {
    expect(safetyMarginMs(60_000)).toBe(1_000);
    expect(failClosedDelayMs(60_000)).toBe(59_000);
  });

  it('keeps a 10 % margin on short leases', () => {
    expect(safetyMarginMs(3_000)).toBeCloseTo(300);
    expect(failClosedDelayMs(3_000)).toBeCloseTo(2_700);
  });

  it('never fires after the lease expires', () => {
    for (const ttl of [1, 50, 999, 5_000, 10_000, 10_001, 86_400_000]) {
      const delay = failClosedDelayMs(ttl);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThan(ttl);
    }
  });

  it('reports an already expired lease as unusable', () => {
    expect(failClosedDelayMs(0)).toBeLessThanOrEqual(0);
    expect(failClosedDelayMs(-500)).toBeLessThanOrEqual(0);
  });
});

describe('heartbeatDelayMs', () => {
  it('renews at a third of the TTL by default', () => {
    expect(heartbeatDelayMs(30_000)).toBe(10_000);
  });

  it('honours a configured interval shorter than half the TTL', () => {
    expect(heartbeatDelayMs(30_000, 2_000)).toBe(2_000);
  });

  it('caps a configured interval at half the TTL so a retry fits before the deadline', () => {
    expect(heartbeatDelayMs(30_000, 60_000)).toBe(15_000);
    expect(heartbeatDelayMs(30_000, 60_000)).toBeLessThan(failClosedDelayMs(30_000));
  });

  it('never schedules into the past', () => {
    expect(heartbeatDelayMs(-100)).toBe(0);
  });
});

describe('retryDelayMs', () => {
  it('retries at a tenth of the TTL', () => {
    expect(retryDelayMs(30_000)).toBe(3_000);
  });

  it('waits at least 200 ms between attempts', () => {
    expect(retryDelayMs(1_000)).toBe(200);
  });

  it('leaves room for several retries between a missed renewal and the deadline', () => {
    const ttl = 30_000;
    const window = failClosedDelayMs(ttl) - heartbeatDelayMs(ttl);
    expect(Math.floor(window / retryDelayMs(ttl))).toBeGreaterThanOrEqual(5);
  });
});

describe('requestTimeoutMs', () => {
  it('is a third of the TTL on short leases', () => {
    expect(requestTimeoutMs(3_000)).toBe(1_000);
  });

  it('is capped at 5 s', () => {
    expect(requestTimeoutMs(300_000)).toBe(5_000);
  });

  it('has a floor so tiny TTLs do not time out every request', () => {
    expect(requestTimeoutMs(30)).toBe(100);
  });

  it('is a whole number of milliseconds, as AbortSignal.timeout requires', () => {
    expect(requestTimeoutMs(2_995)).toBe(998);
    for (const ttl of [1_001, 2_999.5, 7_777]) {
      expect(Number.isInteger(requestTimeoutMs(ttl))).toBe(true);
    }
  });
});
