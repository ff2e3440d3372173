import { bearerToken, generateSecret, hashSecret, looksLike } from './secrets';
import { roleAtLeast } from './roles';

describe('secrets', () => {
  it('generates prefixed 256-bit secrets that are never equal', () => {
    const a = generateSecret('ksk');
    const b = generateSecret('ksk');
    expect(a).toMatch(/^ksk_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
  });

  it('recognises its own shapes and rejects others', () => {
    const key = generateSecret('ksk');
    expect(looksLike('ksk', key)).toBe(true);
    expect(looksLike('ksd', key)).toBe(false);
    expect(looksLike('ksd', generateSecret('ksd'))).toBe(true);
    expect(looksLike('ksk', key.slice(0, 20))).toBe(false);
  });

  it('hashes deterministically without keeping the secret', () => {
    const key = generateSecret('ksd');
    expect(hashSecret(key)).toBe(hashSecret(key));
    expect(hashSecret(key)).not.toContain(key.slice(4, 12));
  });

  it('reads bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('roles', () => {
  it('orders viewer < owner < responder < admin', () => {
    expect(roleAtLeast('admin', 'viewer')).toBe(true);
    expect(roleAtLeast('responder', 'owner')).toBe(true);
    expect(roleAtLeast('owner', 'responder')).toBe(false);
    expect(roleAtLeast('viewer', 'owner')).toBe(false);
  });
});
