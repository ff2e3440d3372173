import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { defineScript, Keys, RedisService, runScript } from '@app/redis';

const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

export type FenceResult =
  | { kind: 'revoked'; epoch: number; revokedAt: number }
  | { kind: 'already'; epoch: number; revokedAt: number; reason: string; incidentId?: string }
  | { kind: 'missing' };

export type ReinstateResult =
  | { kind: 'active'; epoch: number; reinstatedAt: number }
  | { kind: 'not_revoked'; epoch: number }
  | { kind: 'missing' };

@Injectable()
export class RevocationRepository {
  private readonly keys: Keys;

  constructor(private readonly redis: RedisService) {
    this.keys = redis.keys;
    defineScript(redis.client, 'ksFenceAgent', script('fence-agent'), 2);
    defineScript(redis.client, 'ksReinstateAgent', script('reinstate-agent'), 1);
  }

  async fence(
    agentId: string,
    reason: string,
    revokedBy: string,
    incidentId: string,
  ): Promise<FenceResult> {
    const k = this.keys;
    const reply = await runScript<string[]>(
      this.redis.client,
      'ksFenceAgent',
      [k.agent(agentId), k.agentLeases(agentId)],
      [reason, revokedBy, incidentId, k.lease(agentId, ''), k.events()],
    );
    return parseFence(reply);
  }

  /**
   * Fences many agents with one pipelined round of the same script (Redis Cluster keeps one
   * agent per script call; the pipeline keeps it to one round trip per chunk).
   */
  async fenceMany(
    agentIds: string[],
    reason: string,
    revokedBy: string,
    incidentId: string,
  ): Promise<Map<string, FenceResult>> {
    const k = this.keys;
    const results = new Map<string, FenceResult>();
    for (let i = 0; i < agentIds.length; i += 1000) {
      const chunk = agentIds.slice(i, i + 1000);
      const pipeline = this.redis.client.pipeline() as unknown as Record<
        string,
        (...args: (string | number)[]) => unknown
      > & { exec(): Promise<[Error | null, unknown][] | null> };
      for (const agentId of chunk) {
        pipeline.ksFenceAgent(
          k.agent(agentId),
          k.agentLeases(agentId),
          reason,
          revokedBy,
          incidentId,
          k.lease(agentId, ''),
          k.events(),
        );
      }
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([error, reply], index) => {
        if (error) {
          throw error;
        }
        results.set(chunk[index], parseFence(reply as string[]));
      });
    }
    return results;
  }

  async reinstate(agentId: string, reason: string, by: string): Promise<ReinstateResult> {
    const reply = await runScript<string[]>(
      this.redis.client,
      'ksReinstateAgent',
      [this.keys.agent(agentId)],
      [reason, by, this.keys.events()],
    );
    switch (reply[0]) {
      case 'active':
        return { kind: 'active', epoch: Number(reply[1]), reinstatedAt: Number(reply[2]) };
      case 'not_revoked':
        return { kind: 'not_revoked', epoch: Number(reply[1]) };
      default:
        return { kind: 'missing' };
    }
  }
}

function parseFence(reply: string[]): FenceResult {
  switch (reply[0]) {
    case 'revoked':
      return { kind: 'revoked', epoch: Number(reply[1]), revokedAt: Number(reply[2]) };
    case 'already':
      return {
        kind: 'already',
        epoch: Number(reply[1]),
        revokedAt: Number(reply[2]),
        reason: reply[3],
        incidentId: reply[4] || undefined,
      };
    default:
      return { kind: 'missing' };
  }
}
