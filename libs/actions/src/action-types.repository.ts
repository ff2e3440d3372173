import { Injectable } from '@nestjs/common';
import { RedisService } from '@app/redis';
import type { ActionType } from './action-type';

@Injectable()
export class ActionTypesRepository {
  constructor(private readonly redis: RedisService) {}

  async put(type: ActionType): Promise<void> {
    await this.redis.client.hset(this.redis.keys.actionTypes(), type.type, JSON.stringify(type));
  }

  async get(type: string): Promise<ActionType | undefined> {
    const raw = await this.redis.client.hget(this.redis.keys.actionTypes(), type);
    return raw ? (JSON.parse(raw) as ActionType) : undefined;
  }

  async list(): Promise<ActionType[]> {
    const all = await this.redis.client.hgetall(this.redis.keys.actionTypes());
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as ActionType)
      .sort((a, b) => a.type.localeCompare(b.type));
  }

  async delete(type: string): Promise<boolean> {
    return (await this.redis.client.hdel(this.redis.keys.actionTypes(), type)) === 1;
  }
}
