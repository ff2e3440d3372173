import { Injectable } from '@nestjs/common';
import { execOrThrow, Keys, RedisService } from '@app/redis';
import { Agent, AGENT_FIELDS, agentFromFields, idFromIndexMember, indexMember } from './agent';

@Injectable()
export class AgentsRepository {
  private readonly keys: Keys;

  constructor(private readonly redis: RedisService) {
    this.keys = redis.keys;
  }

  /** Indexes first, the agent last: a crash in between leaves only an index entry to skip. */
  async create(agent: Agent): Promise<void> {
    const k = this.keys;
    const member = indexMember(agent);
    const indexes = this.redis.client
      .pipeline()
      .zadd(k.agentsIndex(), 0, member)
      .zadd(k.ownerAgents(agent.owner), 0, member);
    for (const [key, value] of Object.entries(agent.labels)) {
      indexes.sadd(k.labelAgents(key, value), agent.id);
    }
    await execOrThrow(indexes);
    await this.redis.client.hset(k.agent(agent.id), {
      id: agent.id,
      name: agent.name,
      owner: agent.owner,
      labels: JSON.stringify(agent.labels),
      allowedActions: JSON.stringify(agent.allowedActions),
      status: agent.status,
      epoch: agent.epoch,
      createdAt: agent.createdAt,
      ...(agent.concurrency ? { concurrency: agent.concurrency } : {}),
    });
  }

  async get(agentId: string): Promise<Agent | undefined> {
    return agentFromFields(
      await this.redis.client.hmget(this.keys.agent(agentId), ...AGENT_FIELDS),
    );
  }

  async getMany(agentIds: string[]): Promise<(Agent | undefined)[]> {
    if (agentIds.length === 0) {
      return [];
    }
    const pipeline = this.redis.client.pipeline();
    for (const id of agentIds) {
      pipeline.hmget(this.keys.agent(id), ...AGENT_FIELDS);
    }
    const results = await execOrThrow(pipeline);
    return results.map((fields) => agentFromFields(fields as (string | null)[]));
  }

  /** Whether any of these agents exists (one pipelined EXISTS each). */
  async anyExists(agentIds: string[]): Promise<boolean> {
    const pipeline = this.redis.client.pipeline();
    for (const id of agentIds) {
      pipeline.exists(this.keys.agent(id));
    }
    return (await execOrThrow(pipeline)).some((found) => found === 1);
  }

  /**
   * Drops a deleted agent from the agents' indexes. Its record and lease index go first, in the
   * revocation's delete script: once the hash is gone every check refuses its tokens.
   */
  async unindex(agent: Agent): Promise<void> {
    const k = this.keys;
    const member = indexMember(agent);
    const indexes = this.redis.client
      .pipeline()
      .zrem(k.agentsIndex(), member)
      .zrem(k.ownerAgents(agent.owner), member);
    for (const [key, value] of Object.entries(agent.labels)) {
      indexes.srem(k.labelAgents(key, value), agent.id);
    }
    await execOrThrow(indexes);
  }

  /**
   * One page of agent ids, newest first, from the whole index or one owner's.
   *
   * @param after - the last index member of the previous page (exclusive).
   */
  async page(
    owner: string | undefined,
    after: string | undefined,
    count: number,
  ): Promise<{ ids: string[]; members: string[] }> {
    const key = owner ? this.keys.ownerAgents(owner) : this.keys.agentsIndex();
    const members = await this.redis.client.zrange(
      key,
      after ? `(${after}` : '+',
      '-',
      'BYLEX',
      'REV',
      'LIMIT',
      0,
      count,
    );
    return { ids: members.map(idFromIndexMember), members };
  }

  async allIds(owner?: string): Promise<string[]> {
    const key = owner ? this.keys.ownerAgents(owner) : this.keys.agentsIndex();
    return (await this.redis.client.zrange(key, 0, -1)).map(idFromIndexMember);
  }

  labelMembers(key: string, value: string): Promise<string[]> {
    return this.redis.client.smembers(this.keys.labelAgents(key, value));
  }
}
