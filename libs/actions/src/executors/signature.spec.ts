import { signBody, verifySignature } from './signature';

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = JSON.stringify({ actionId: 'act_1', params: { id: 7 } });
  const now = 1_800_000_000;

  it('verifies what it signs', () => {
    expect(verifySignature(secret, body, signBody(secret, body, now), now)).toBe(true);
  });

  it.each([
    ['another secret', () => signBody('other', body, now), body],
    ['a changed body', () => signBody(secret, body, now), `${body} `],
    ['an old timestamp', () => signBody(secret, body, now - 301), body],
    ['a missing header', () => undefined, body],
    ['garbage', () => 't=x,v1=zz', body],
  ])('refuses %s', (_, header, received) => {
    expect(verifySignature(secret, received, header(), now)).toBe(false);
  });
});
