import { createHash, randomUUID } from 'node:crypto';
import { DevicesRepository } from './devices.repository';
import { redisForSpec } from '../../../test/support/int';
import { readPrefix, waitFor } from '../../../test/support/redis';

// Pairing codes against a real Redis: what the scripts keep of a user's codes, and for how long.
describe('pairing codes (real Redis)', () => {
  const { config, redis } = redisForSpec('pairing-codes');
  let devices: DevicesRepository;

  beforeAll(() => {
    devices = new DevicesRepository(redis);
  });

  const newUser = async () => {
    const id = `usr_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    await redis.client.hset(redis.keys.user(id), 'id', id, 'name', 'u', 'role', 'owner');
    return id;
  };
  const newCode = () => createHash('sha256').update(randomUUID()).digest('hex');
  /** The codes listed under the user, read as a reader of Redis would. */
  const listed = async (userId: string) =>
    (await readPrefix(config.keyPrefix)).get(redis.keys.userPairingCodes(userId)) ?? [];
  const live = async (codeHash: string) =>
    (await redis.client.exists(redis.keys.pairingCode(codeHash))) === 1;
  const pair = (codeHash: string) =>
    devices.pair(
      codeHash,
      { id: `dev_${randomUUID().slice(0, 8)}`, name: 'p', createdAt: new Date().toISOString() },
      newCode(),
      `198.51.100.${Math.floor(Math.random() * 250)}`,
      { failures: 10, windowSeconds: 60 },
    );

  it('keeps at most the limit of live codes per user, retiring the oldest', async () => {
    const userId = await newUser();
    const codes = Array.from({ length: 7 }, newCode);
    // Sent together, in order, on one connection: several land in the same millisecond.
    expect(await Promise.all(codes.map((code) => devices.putCode(code, userId, 300, 5)))).toEqual(
      codes.map(() => true),
    );
    expect((await listed(userId)).sort()).toEqual(codes.slice(2).sort());
    expect(await Promise.all(codes.map(live))).toEqual([
      false,
      false,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(await pair(codes[0])).toEqual({ kind: 'wrong' });
    expect(await pair(codes[2])).toEqual({ kind: 'paired', userId });
  });

  it('stays small however many codes a user asks for', async () => {
    const userId = await newUser();
    for (let i = 0; i < 1000; i++) {
      await devices.putCode(newCode(), userId, 300, 5);
    }
    expect(await listed(userId)).toHaveLength(5);
    const stored = await readPrefix(config.keyPrefix);
    const codesOfUser = [...stored].filter(
      ([key, [owner]]) => key.startsWith(redis.keys.pairingCode('')) && owner === userId,
    );
    expect(codesOfUser).toHaveLength(5);
  });

  it('forgets used and expired codes as it adds one', async () => {
    const userId = await newUser();
    const [used, expiring, kept, added] = [newCode(), newCode(), newCode(), newCode()];
    await devices.putCode(used, userId, 300, 5);
    await devices.putCode(expiring, userId, 1, 5);
    await devices.putCode(kept, userId, 300, 5);
    expect(await pair(used)).toEqual({ kind: 'paired', userId });
    expect((await listed(userId)).sort()).toEqual([expiring, kept].sort());
    await waitFor(async () => !(await live(expiring)), 5000, 'the short-lived code to expire');
    await devices.putCode(added, userId, 300, 5);
    expect((await listed(userId)).sort()).toEqual([kept, added].sort());
  });

  it('still voids a code made before PAIRING_CODE_TTL_SECONDS was lowered, once the later ones expire', async () => {
    const userId = await newUser();
    const [longLived, shortLived] = [newCode(), newCode()];
    await devices.putCode(longLived, userId, 300, 5);
    await devices.putCode(shortLived, userId, 1, 5);
    await waitFor(async () => !(await live(shortLived)), 5000, 'the short-lived code to expire');
    expect(await listed(userId)).toContain(longLived);
    await devices.revokeAll(userId);
    expect(await live(longLived)).toBe(false);
  });
});
