import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { toUser, type User } from '@app/auth';
import { defineScript, execOrThrow, Keys, RedisService, runScript } from '@app/redis';

const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

/** What a pairing attempt came to. */
export type PairOutcome =
  | { kind: 'paired'; userId: string }
  /** Unknown, used or expired code (or its user is gone): counted against the address. */
  | { kind: 'wrong' }
  /** The address had used up its failed attempts: nothing was tried. */
  | { kind: 'limited'; resetsInSeconds: number };

export interface DeviceRecord {
  id: string;
  userId: string;
  name: string;
  createdAt: string;
}

// Every key here carries the `{auth}` tag: devices are credentials, stored beside API keys.
@Injectable()
export class DevicesRepository {
  private readonly keys: Keys;

  constructor(private readonly redis: RedisService) {
    this.keys = redis.keys;
    defineScript(redis.client, 'ksPairDevice', script('pair-device'));
    defineScript(redis.client, 'ksRevokeDevice', script('revoke-device'));
    defineScript(redis.client, 'ksRevokeUserDevices', script('revoke-user-devices'));
    defineScript(redis.client, 'ksPutPairingCode', script('put-pairing-code'));
    defineScript(redis.client, 'ksAuthenticateDevice', script('authenticate-device'));
  }

  /**
   * Stores a pairing code's hash, retiring the user's oldest live codes past `maxLive`; false if
   * that code is taken (the caller draws another).
   */
  async putCode(
    codeHash: string,
    userId: string,
    ttlSeconds: number,
    maxLive: number,
  ): Promise<boolean> {
    const stored = await runScript<number>(
      this.redis.client,
      'ksPutPairingCode',
      [this.keys.pairingCode(codeHash), this.keys.userPairingCodes(userId)],
      [userId, codeHash, ttlSeconds, maxLive, this.keys.pairingCode('')],
    );
    return stored === 1;
  }

  /**
   * Consumes the code and stores the device in one step, unless the address has used up its
   * failed attempts; a failure is counted in that same step.
   */
  async pair(
    codeHash: string,
    device: { id: string; name: string; createdAt: string },
    tokenHash: string,
    address: string,
    limit: { failures: number; windowSeconds: number },
  ): Promise<PairOutcome> {
    const k = this.keys;
    const [outcome, detail] = await runScript<[string, string | number | undefined]>(
      this.redis.client,
      'ksPairDevice',
      [k.pairingCode(codeHash), k.device(tokenHash), k.pairFailures(address)],
      [
        device.id,
        device.name,
        device.createdAt,
        tokenHash,
        k.user(''),
        limit.failures,
        limit.windowSeconds,
        codeHash,
      ],
    );
    switch (outcome) {
      case 'paired':
        return { kind: 'paired', userId: String(detail) };
      case 'limited':
        return { kind: 'limited', resetsInSeconds: Math.max(Number(detail), 0) };
      default:
        return { kind: 'wrong' };
    }
  }

  /** A device token's device and its user, in one round trip; undefined if either is gone. */
  async authenticate(tokenHash: string): Promise<{ device: DeviceRecord; user: User } | undefined> {
    const fields = await runScript<(string | null)[] | null>(
      this.redis.client,
      'ksAuthenticateDevice',
      [this.keys.device(tokenHash)],
      [this.keys.user('')],
    );
    if (!fields) {
      return undefined;
    }
    const device = toDevice(fields.slice(0, 4));
    const user = toUser(fields.slice(4));
    return device && user ? { device, user } : undefined;
  }

  async list(userId: string): Promise<DeviceRecord[]> {
    const hashes = Object.values(await this.redis.client.hgetall(this.keys.userDevices(userId)));
    const pipeline = this.redis.client.pipeline();
    for (const hash of hashes) {
      pipeline.hmget(this.keys.device(hash), 'deviceId', 'userId', 'name', 'createdAt');
    }
    return (await execOrThrow(pipeline))
      .map((fields) => toDevice(fields as (string | null)[]))
      .filter((d): d is DeviceRecord => d !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async revoke(userId: string, deviceId: string): Promise<boolean> {
    const deleted = await runScript<number>(
      this.redis.client,
      'ksRevokeDevice',
      [this.keys.userDevices(userId)],
      [deviceId, this.keys.device('')],
    );
    return deleted === 1;
  }

  /** Deletes every device of a user, and the pairing codes not used yet; answers the devices' ids. */
  revokeAll(userId: string): Promise<string[]> {
    return runScript<string[]>(
      this.redis.client,
      'ksRevokeUserDevices',
      [this.keys.userDevices(userId), this.keys.userPairingCodes(userId)],
      [this.keys.device(''), this.keys.pairingCode('')],
    );
  }
}

function toDevice([id, userId, name, createdAt]: (string | null)[]): DeviceRecord | undefined {
  return id && userId && name && createdAt ? { id, userId, name, createdAt } : undefined;
}
