import { Injectable } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { badRequest, conflict, DomainError, isoMs, notFound } from '@app/core';
import { hashSecret, mistakenCredential, type AgentPrincipal, type LeaseVerifier } from '@app/auth';
import { LeasesRepository, LeaseState } from './leases.repository';
import { newLeaseId, newLeaseToken, ParsedLeaseToken, parseLeaseToken } from './lease-token';

export interface IssuedLease {
  leaseId: string;
  /** Shown once; only its hash is kept. */
  token: string;
  expiresAt: string;
  /** No renewal extends the lease past this: then its owner issues a new one. */
  maxExpiresAt: string;
  epoch: number;
}

export interface Heartbeat {
  status: 'active';
  expiresAt: string;
  maxExpiresAt: string;
  epoch: number;
}

/** RFC 7662 answer; `{active: false}` and nothing else for a dead token. */
export type Introspection =
  | {
      active: true;
      sub: string;
      client_id: string;
      scope: string;
      exp: number;
      iat: number;
      token_type: 'Bearer';
      lease_id: string;
      epoch: number;
      owner: string;
    }
  | { active: false };

@Injectable()
export class LeasesService implements LeaseVerifier {
  constructor(
    private readonly leases: LeasesRepository,
    private readonly config: AppConfig,
  ) {}

  /** Issues a lease for an agent the caller was already authorized to manage. */
  async issue(agentId: string, ttlSeconds?: number): Promise<IssuedLease> {
    const ttl = ttlSeconds ?? this.config.leaseDefaultTtlSeconds;
    if (ttl > this.config.leaseMaxTtlSeconds) {
      throw badRequest(
        `ttlSeconds must be at most ${this.config.leaseMaxTtlSeconds} (LEASE_MAX_TTL_SECONDS)`,
      );
    }
    const token = newLeaseToken(agentId);
    const leaseId = newLeaseId();
    const result = await this.leases.issue(
      agentId,
      hashSecret(token),
      leaseId,
      ttl * 1000,
      this.config.leaseMaxLifetimeSeconds * 1000,
    );
    switch (result.kind) {
      case 'ok':
        return {
          leaseId,
          token,
          expiresAt: isoMs(result.expiresAt),
          maxExpiresAt: isoMs(result.maxExpiresAt),
          epoch: result.epoch,
        };
      case 'revoked':
        throw conflict(`Agent ${agentId} is revoked; an admin must reinstate it first`);
      case 'missing':
        throw notFound(`Agent ${agentId}`);
    }
  }

  /** Renews a live lease, or throws the reason it is dead (401 with `status`). */
  async heartbeat(token: string): Promise<Heartbeat> {
    const state = await this.touch(parseLeaseToken(token), 'renew');
    if (state.kind !== 'active') {
      throw deadLease(state, token);
    }
    return {
      status: 'active',
      expiresAt: isoMs(state.expiresAt),
      maxExpiresAt: isoMs(state.maxExpiresAt),
      epoch: state.epoch,
    };
  }

  /** Reads without renewing (introspection, socket handshakes, the auth guard). */
  async verify(token: string): Promise<AgentPrincipal> {
    const parsed = parseLeaseToken(token);
    const state = await this.touch(parsed, 'peek');
    if (state.kind !== 'active' || !parsed) {
      throw deadLease(state, token);
    }
    return { kind: 'agent', agentId: parsed.agentId, leaseId: state.leaseId, epoch: state.epoch };
  }

  /**
   * RFC 7662 introspection. Fails closed: if the state cannot be read, the error filter
   * answers 503, never "active".
   */
  async introspect(token: string): Promise<Introspection> {
    const parsed = parseLeaseToken(token);
    const state = await this.touch(parsed, 'describe');
    if (state.kind !== 'active' || !parsed || !state.described) {
      return { active: false };
    }
    return {
      active: true,
      sub: parsed.agentId,
      client_id: parsed.agentId,
      scope: state.described.allowedActions.join(' '),
      exp: Math.floor(state.expiresAt / 1000),
      iat: Math.floor(state.issuedAt / 1000),
      token_type: 'Bearer',
      lease_id: state.leaseId,
      epoch: state.epoch,
      owner: state.described.owner,
    };
  }

  private async touch(
    parsed: ParsedLeaseToken | undefined,
    mode: 'renew' | 'peek' | 'describe',
  ): Promise<LeaseState> {
    if (!parsed) {
      return { kind: 'invalid' };
    }
    return this.leases.touch(parsed.agentId, parsed.hash, mode);
  }
}

/**
 * The 401 of a revoked lease, wherever it is found dead (a heartbeat, the auth guard, the gate
 * at submission): why, when, and the incident, for the runtime to act on.
 */
export function leaseRevoked(revocation: {
  reason?: string;
  revokedAt?: number;
  incidentId?: string;
}): DomainError {
  const { reason, revokedAt, incidentId } = revocation;
  return new DomainError(
    'lease_revoked',
    reason ? `Lease revoked: ${reason}` : 'Lease revoked: the agent was revoked',
    {
      status: 'revoked',
      reason,
      revokedAt: revokedAt ? isoMs(revokedAt) : undefined,
      ...(incidentId ? { incidentId } : {}),
    },
  );
}

function deadLease(state: LeaseState, token: string): DomainError {
  switch (state.kind) {
    case 'revoked':
      return leaseRevoked(state);
    case 'expired':
      return new DomainError('lease_expired', 'Lease expired', {
        status: 'expired',
        expiredAt: isoMs(state.expiresAt),
      });
    case 'invalid':
    case 'active':
      return new DomainError(
        'lease_invalid',
        token === ''
          ? 'No lease token: send "Authorization: Bearer <lease token>" (ksl_…)'
          : (mistakenCredential(token, 'ksl_') ?? 'Unknown or malformed lease token'),
        { status: 'invalid' },
      );
  }
}
