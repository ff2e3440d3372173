import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { notFound } from '@app/core';
import { generateSecret, hashSecret, looksLike } from './secrets';
import { UsersRepository } from './users.repository';
import type { Role } from './roles';
import type { User } from './principal';

export interface CreatedUser extends User {
  /** Shown once; only its hash is kept. */
  apiKey: string;
}

export const newUserId = () => `usr_${randomBytes(8).toString('hex')}`;
export const USER_ID = /^usr_[0-9a-f]{16}$/;

@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);

  constructor(private readonly users: UsersRepository) {}

  async create(name: string, role: Role): Promise<CreatedUser> {
    const user: User = { id: newUserId(), name, role, createdAt: new Date().toISOString() };
    const apiKey = generateSecret('ksk');
    await this.users.create(user, hashSecret(apiKey));
    this.logger.log({ userId: user.id, role }, `User ${user.id} created`);
    return { ...user, apiKey };
  }

  /** Resolves an API key to its user, or undefined for anything that is not a live key. */
  async authenticate(apiKey: string): Promise<User | undefined> {
    if (!looksLike('ksk', apiKey)) {
      return undefined;
    }
    return this.users.findByKeyHash(hashSecret(apiKey));
  }

  async get(userId: string): Promise<User> {
    const user = await this.users.get(userId);
    if (!user) {
      throw notFound(`User ${userId}`);
    }
    return user;
  }

  /** Users' names by id, for showing who owns what (unknown ids are left out). */
  names(userIds: string[]): Promise<Map<string, string>> {
    return userIds.length > 0
      ? this.users.names(userIds)
      : Promise.resolve(new Map<string, string>());
  }

  list(): Promise<(User & { activeKeys: number })[]> {
    return this.users.list();
  }

  async issueKey(userId: string): Promise<{ userId: string; apiKey: string }> {
    await this.get(userId);
    const apiKey = generateSecret('ksk');
    await this.users.addKey(userId, hashSecret(apiKey), new Date().toISOString());
    return { userId, apiKey };
  }

  async revokeKeys(userId: string): Promise<{ userId: string; revokedKeys: number }> {
    await this.get(userId);
    const revokedKeys = await this.users.revokeKeys(userId);
    this.logger.log({ userId, revokedKeys }, `API keys of ${userId} revoked`);
    return { userId, revokedKeys };
  }

  /**
   * Makes sure an admin exists. With `presetKey` that key becomes the admin's; otherwise a new
   * key is generated and returned so the caller can show it once.
   *
   * @returns the key to show, or undefined when nothing was created or the key was preset.
   */
  async bootstrapAdmin(presetKey?: string): Promise<{ created: boolean; shownKey?: string }> {
    const apiKey = presetKey ?? generateSecret('ksk');
    const user: User = {
      id: newUserId(),
      name: 'admin',
      role: 'admin',
      createdAt: new Date().toISOString(),
    };
    const created = await this.users.createFirstAdmin(user, hashSecret(apiKey));
    return { created, shownKey: created && !presetKey ? apiKey : undefined };
  }
}
