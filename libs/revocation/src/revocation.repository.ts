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
    const results = await this.fenceMany([agentId], reason, revokedBy, incidentId, true);
    return results.get(agentId) ?? { kind: 'missing' };
  }

  /**
   * Fences many agents with the same script, one call per agent (Redis Cluster keeps each on
   * its agent's slot), pipelined in chunks that are all sent at once: Redis runs them back to
   * back while the client still encodes the next.
   *
   * @param publish - raise `agent.updated` from the script (small revocations); bulk ones
   *   raise it from their follow-up jobs instead.
   */
  async fenceMany(
    agentIds: string[],
    reason: string,
    revokedBy: string,
    incidentId: string,
    publish: boolean,
  ): Promise<Map<string, FenceResult>> {
    const k = this.keys;
    const chunks: string[][] = [];
    for (let i = 0; i < agentIds.length; i += 1000) {
      chunks.push(agentIds.slice(i, i + 1000));
    }
    const replies = await Promise.all(
      chunks.map((chunk) => {
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
            publish ? '1' : '0',
          );
        }
        return pipeline.exec();
      }),
    );
    const results = new Map<string, FenceResult>();
    replies.forEach((chunkReplies, c) => {
      (chunkReplies ?? []).forEach(([error, reply], index) => {
        if (error) {
          throw error;
        }
        results.set(chunks[c][index], parseFence(reply as string[]));
      });
    });
    return results;
  }

  /** Tells live feeds an agent changed (bulk revocations, from their follow-up). */
  async publishAgentUpdated(agentId: string): Promise<void> {
    await this.redis.client.publish(
      this.keys.events(),
      JSON.stringify({ event: 'agent.updated', agentId }),
    );
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
