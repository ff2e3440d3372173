import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { defineScript, execOrThrow, Keys, RedisService, runScript } from '@app/redis';
import { isRole } from './roles';
import type { User } from './principal';

// Scripts below name keys built from ARGV; that stays valid on Redis Cluster because every
// auth key shares the `{auth}` hash tag and so the same slot.
const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

@Injectable()
export class UsersRepository {
  private readonly keys: Keys;

  constructor(private readonly redis: RedisService) {
    this.keys = redis.keys;
    defineScript(redis.client, 'ksCreateFirstAdmin', script('create-first-admin'));
    defineScript(redis.client, 'ksRevokeUserKeys', script('revoke-user-keys'));
    defineScript(redis.client, 'ksAuthenticateKey', script('authenticate-key'));
  }

  async create(user: User, keyHash: string): Promise<void> {
    const k = this.keys;
    const tx = this.redis.client
      .multi()
      .hset(k.user(user.id), { ...user })
      .zadd(k.users(), Date.parse(user.createdAt), user.id)
      .hset(k.apiKey(keyHash), { userId: user.id, createdAt: user.createdAt })
      .sadd(k.userApiKeys(user.id), keyHash);
    if (user.role === 'admin') {
      tx.sadd(k.admins(), user.id);
    }
    await tx.exec();
  }

  /** Creates `user` as the first admin; false when an admin already exists. */
  async createFirstAdmin(user: User, keyHash: string): Promise<boolean> {
    const k = this.keys;
    const created = await runScript<number>(
      this.redis.client,
      'ksCreateFirstAdmin',
      [k.admins(), k.users(), k.user(user.id), k.apiKey(keyHash), k.userApiKeys(user.id)],
      [user.id, user.name, user.createdAt, Date.parse(user.createdAt), keyHash],
    );
    return created === 1;
  }

  async findByKeyHash(keyHash: string): Promise<User | undefined> {
    const fields = await runScript<(string | null)[] | null>(
      this.redis.client,
      'ksAuthenticateKey',
      [this.keys.apiKey(keyHash)],
      [this.keys.user('')],
    );
    return fields ? toUser(fields) : undefined;
  }

  async get(userId: string): Promise<User | undefined> {
    const [id, name, role, createdAt] = await this.redis.client.hmget(
      this.keys.user(userId),
      'id',
      'name',
      'role',
      'createdAt',
    );
    return toUser([id, name, role, createdAt]);
  }

  /** The names of these users, read together; a user that does not exist is left out. */
  async names(userIds: string[]): Promise<Map<string, string>> {
    const pipeline = this.redis.client.pipeline();
    for (const id of userIds) {
      pipeline.hget(this.keys.user(id), 'name');
    }
    const replies = (await pipeline.exec()) ?? [];
    const names = new Map<string, string>();
    replies.forEach(([error, name], i) => {
      if (error) {
        throw error;
      }
      if (typeof name === 'string') {
        names.set(userIds[i], name);
      }
    });
    return names;
  }

  async list(): Promise<(User & { activeKeys: number })[]> {
    const ids = await this.redis.client.zrange(this.keys.users(), 0, -1);
    if (ids.length === 0) {
      return [];
    }
    const pipeline = this.redis.client.pipeline();
    for (const id of ids) {
      pipeline.hmget(this.keys.user(id), 'id', 'name', 'role', 'createdAt');
      pipeline.scard(this.keys.userApiKeys(id));
    }
    const results = await execOrThrow(pipeline);
    const users: (User & { activeKeys: number })[] = [];
    for (let i = 0; i < results.length; i += 2) {
      const user = toUser(results[i] as (string | null)[]);
      if (user) {
        users.push({ ...user, activeKeys: Number(results[i + 1]) });
      }
    }
    return users;
  }

  async addKey(userId: string, keyHash: string, createdAt: string): Promise<void> {
    await this.redis.client
      .multi()
      .hset(this.keys.apiKey(keyHash), { userId, createdAt })
      .sadd(this.keys.userApiKeys(userId), keyHash)
      .exec();
  }

  /** Deletes all of a user's keys at once; answers how many there were. */
  async revokeKeys(userId: string): Promise<number> {
    return runScript<number>(
      this.redis.client,
      'ksRevokeUserKeys',
      [this.keys.userApiKeys(userId)],
      [this.keys.apiKey('')],
    );
  }
}

/** A user from its hash's `id, name, role, createdAt` fields, in that order. */
export function toUser(fields: (string | null)[]): User | undefined {
  const [id, name, role, createdAt] = fields;
  if (!id || !name || !createdAt || !isRole(role)) {
    return undefined;
  }
  return { id, name, role, createdAt };
}
