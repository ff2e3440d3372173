import { randomUUID } from 'node:crypto';
import type { Role } from '@app/auth';
import type { RunningApp } from './apps';
import { Api, Reply } from './http';
import { waitFor } from './redis';

/** A user created through the API, with a client that carries its key. */
export interface TestUser {
  id: string;
  name: string;
  role: Role;
  apiKey: string;
  api: Api;
}

export interface Agent {
  id: string;
  name: string;
  owner: string;
  labels: Record<string, string>;
  allowedActions: string[];
  status: 'active' | 'revoked';
  epoch: number;
  createdAt: string;
  revokedAt?: string;
  revokeReason?: string;
}

export interface Lease {
  leaseId: string;
  token: string;
  expiresAt: string;
  maxExpiresAt: string;
  epoch: number;
}

export interface Revocation {
  agentId: string;
  status: 'revoked';
  epoch: number;
  revokedAt: string;
  reason: string;
  alreadyRevoked: boolean;
  incidentId: string;
  agents: number;
  agentIds: string[];
}

const unique = () => randomUUID().slice(0, 8);

/** Creates a user of `role` with the deployment's bootstrap admin. */
export async function createUser(
  ks: RunningApp,
  role: Role,
  overrides: { name?: string } = {},
): Promise<TestUser> {
  const reply = await ks.admin.post('/v1/users', {
    name: `${role}-${unique()}`,
    role,
    ...overrides,
  });
  expect(reply.status).toBe(201);
  return { ...reply.body, api: ks.admin.as(reply.body.apiKey) } as TestUser;
}

/** Registers an agent as the caller of `api` (an owner or stronger). */
export async function createAgent(
  api: Api,
  overrides: { name?: string; labels?: Record<string, string>; allowedActions?: string[] } = {},
): Promise<Agent> {
  const reply = await api.post('/v1/agents', {
    name: `agent-${unique()}`,
    labels: { env: 'test' },
    allowedActions: ['read', 'deploy'],
    ...overrides,
  });
  expect(reply.status).toBe(201);
  return reply.body as Agent;
}

/** Issues a lease for an agent; `ttlSeconds` left out uses the server's default. */
export async function issueLease(api: Api, agentId: string, ttlSeconds?: number): Promise<Lease> {
  const reply = await api.post(
    `/v1/agents/${agentId}/leases`,
    ttlSeconds === undefined ? {} : { ttlSeconds },
  );
  expect(reply.status).toBe(201);
  return reply.body as Lease;
}

export async function revokeAgent(api: Api, agentId: string, reason = 'test revocation') {
  const reply = await api.post(`/v1/agents/${agentId}/revoke`, { reason });
  expect(reply.status).toBe(200);
  return reply.body as Revocation;
}

/** Revokes an agent and waits until its stop is followed up: what a delete needs first. */
export async function retireAgent(api: Api, agentId: string) {
  const revocation = await revokeAgent(api, agentId, 'retired');
  await waitFor(
    async () => (await api.get(`/v1/incidents/${revocation.incidentId}`)).body.status === 'done',
    15_000,
    `incident ${revocation.incidentId} to finish`,
  );
  return revocation;
}

/** What an agent runtime does every few seconds: present its lease token. */
export function heartbeat(ks: RunningApp, token: string): Promise<Reply> {
  return ks.anonymous.as(token).post('/v1/leases/heartbeat', {});
}

/** What a resource server does (RFC 7662): a form-encoded `token=...` with its own API key. */
export function introspect(api: Api, token: string): Promise<Reply> {
  return api.request('POST', '/v1/introspect', new URLSearchParams({ token }).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
}
