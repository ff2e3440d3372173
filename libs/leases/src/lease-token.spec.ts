import { newLeaseToken, parseLeaseToken } from './lease-token';

describe('lease tokens', () => {
  const agentId = 'agt_0123456789abcdef';

  it('carry their agent id and 256 random bits', () => {
    const token = newLeaseToken(agentId);
    expect(token).toMatch(/^ksl_0123456789abcdef[A-Za-z0-9_-]{43}$/);
    expect(newLeaseToken(agentId)).not.toBe(token);
    expect(parseLeaseToken(token)).toEqual({
      agentId,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it.each([
    ['a wrong prefix', (t: string) => `ksk_${t.slice(4)}`],
    ['a truncated token', (t: string) => t.slice(0, -1)],
    ['an extended token', (t: string) => `${t}A`],
    ['an API key', () => `ksk_${'A'.repeat(43)}`],
    ['nothing', () => ''],
  ])('reject %s', (_, mangle) => {
    expect(parseLeaseToken(mangle(newLeaseToken(agentId)))).toBeUndefined();
  });
});
