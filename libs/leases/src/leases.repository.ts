import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { defineScript, Keys, RedisService, runScript } from '@app/redis';

const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

export type IssueResult =
  | { kind: 'ok'; epoch: number; issuedAt: number; expiresAt: number; maxExpiresAt: number }
  | { kind: 'missing' }
  | { kind: 'revoked' };

export type LeaseState =
  | {
      kind: 'active';
      leaseId: string;
      epoch: number;
      issuedAt: number;
      expiresAt: number;
      /** Renewals never extend it past this. */
      maxExpiresAt: number;
      /** Only when described (introspection). */
      described?: { allowedActions: string[]; owner: string };
    }
  | { kind: 'revoked'; reason: string; revokedAt?: number; incidentId?: string }
  | { kind: 'expired'; expiresAt: number }
  | { kind: 'invalid' };

// A dead lease is remembered this long after its maximum lifetime, so that late callers hear
// "revoked" or "expired" rather than "invalid".
const REMEMBER_DEAD_MS = 24 * 3600 * 1000;

@Injectable()
export class LeasesRepository {
  private readonly keys: Keys;

  constructor(private readonly redis: RedisService) {
    this.keys = redis.keys;
    defineScript(redis.client, 'ksIssueLease', script('issue-lease'));
    defineScript(redis.client, 'ksTouchLease', script('touch-lease'));
  }

  async issue(
    agentId: string,
    tokenHash: string,
    leaseId: string,
    ttlMs: number,
    maxLifetimeMs: number,
  ): Promise<IssueResult> {
    const k = this.keys;
    const reply = await runScript<string[]>(
      this.redis.client,
      'ksIssueLease',
      [k.agent(agentId), k.agentLeases(agentId), k.lease(agentId, tokenHash)],
      [leaseId, ttlMs, maxLifetimeMs, REMEMBER_DEAD_MS],
    );
    switch (reply[0]) {
      case 'ok':
        return {
          kind: 'ok',
          epoch: Number(reply[1]),
          issuedAt: Number(reply[2]),
          expiresAt: Number(reply[3]),
          maxExpiresAt: Number(reply[4]),
        };
      case 'revoked':
        return { kind: 'revoked' };
      default:
        return { kind: 'missing' };
    }
  }

  /**
   * Reads a lease's state. `renew` extends a live one in the same atomic step; `describe` also
   * reads the agent's allowedActions and owner (introspection).
   */
  async touch(
    agentId: string,
    tokenHash: string,
    mode: 'renew' | 'peek' | 'describe',
  ): Promise<LeaseState> {
    const reply = await runScript<string[]>(
      this.redis.client,
      'ksTouchLease',
      [this.keys.agent(agentId), this.keys.lease(agentId, tokenHash)],
      [mode],
    );
    switch (reply[0]) {
      case 'active':
        return {
          kind: 'active',
          leaseId: reply[1],
          epoch: Number(reply[2]),
          issuedAt: Number(reply[3]),
          expiresAt: Number(reply[4]),
          maxExpiresAt: Number(reply[5]),
          ...(reply.length > 6
            ? {
                described: {
                  allowedActions: JSON.parse(reply[6]) as string[],
                  owner: reply[7],
                },
              }
            : {}),
        };
      case 'revoked':
        return {
          kind: 'revoked',
          reason: reply[1],
          revokedAt: reply[2] ? Number(reply[2]) : undefined,
          incidentId: reply[3] || undefined,
        };
      case 'expired':
        return { kind: 'expired', expiresAt: Number(reply[1]) };
      default:
        return { kind: 'invalid' };
    }
  }
}
