import { randomBytes } from 'node:crypto';
import { hashSecret } from '@app/auth';

/**
 * A lease token is `ksl_` + the 16 hex digits of its agent's id + 256 random bits (base64url).
 * Carrying the agent id lets one Lua script on the agent's slot check the lease and the agent
 * together, which keeps heartbeats to one round trip and Redis Cluster happy.
 */
const TOKEN = /^ksl_([0-9a-f]{16})([A-Za-z0-9_-]{43})$/;

export interface ParsedLeaseToken {
  agentId: string;
  hash: string;
}

export function newLeaseToken(agentId: string): string {
  return `ksl_${agentId.slice(4)}${randomBytes(32).toString('base64url')}`;
}

/** Parses a token's shape; undefined for anything that cannot be a lease token. */
export function parseLeaseToken(token: string): ParsedLeaseToken | undefined {
  const match = TOKEN.exec(token);
  if (!match) {
    return undefined;
  }
  return { agentId: `agt_${match[1]}`, hash: hashSecret(token) };
}

export const newLeaseId = () => `lse_${randomBytes(8).toString('hex')}`;
