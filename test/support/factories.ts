import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { ActionStatus } from '@app/actions';
import type { Role } from '@app/auth';
import type { RunningApp } from './apps';
import { Api, Reply } from './http';
import { waitFor } from './redis';
import type { ToolServer } from './tool-server';

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

export interface AgentOverrides {
  name?: string;
  labels?: Record<string, string>;
  allowedActions?: string[];
}

/** Registers an agent as the caller of `api` (an owner or stronger). */
export async function createAgent(api: Api, overrides: AgentOverrides = {}): Promise<Agent> {
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

/**
 * What an agent's runtime holds once started: the agent, its lease and `asAgent`, a client
 * that carries the lease token. `ttlSeconds` left out uses the server's default.
 */
export async function agentWithLease(
  api: Api,
  { ttlSeconds, ...overrides }: AgentOverrides & { ttlSeconds?: number } = {},
): Promise<{ agent: Agent; lease: Lease; asAgent: Api }> {
  const agent = await createAgent(api, overrides);
  const lease = await issueLease(api, agent.id, ttlSeconds);
  return { agent, lease, asAgent: api.as(lease.token) };
}

/** Waits on the clock until `lease` has expired: asking the server (a heartbeat) would renew it. */
export function waitForExpiry(lease: Pick<Lease, 'expiresAt'>): Promise<void> {
  return waitFor(
    () => Date.now() > Date.parse(lease.expiresAt) + 100,
    10_000,
    'the lease to pass its expiry',
  );
}

export async function revokeAgent(api: Api, agentId: string, reason = 'test revocation') {
  const reply = await api.post(`/v1/agents/${agentId}/revoke`, { reason });
  expect(reply.status).toBe(200);
  return reply.body as Revocation;
}

/** Revokes an agent and waits until its stop is followed up: what a delete needs first. */
export async function retireAgent(api: Api, agentId: string) {
  const revocation = await revokeAgent(api, agentId, 'retired');
  await waitForIncident(api, revocation.incidentId);
  return revocation;
}

/** How long to poll and how often: by default for 15 s, every 50 ms. */
export type PollOptions = { timeoutMs?: number; intervalMs?: number };

/** Polls `GET path` until `done` holds for the body it answers; returns that body. */
async function pollUntil(
  api: Api,
  path: string,
  done: (body: any) => boolean,
  { timeoutMs = 15_000, intervalMs = 50 }: PollOptions,
  what: string,
): Promise<any> {
  let body: any;
  await waitFor(
    async () => {
      body = (await api.get(path)).body;
      return done(body);
    },
    timeoutMs,
    what,
    intervalMs,
  );
  return body;
}

/** Statuses of an action that has run its course (a stop may still roll back one that succeeded). */
export const FINISHED_ACTION_STATUSES: readonly ActionStatus[] = [
  'succeeded',
  'failed',
  'halted',
  'aborted',
  'rolled_back',
  'rollback_failed',
];

/** Polls an action until its status is one of `until` (by default, any finished one); returns it. */
export function waitForAction(
  api: Api,
  id: string,
  {
    until = FINISHED_ACTION_STATUSES,
    ...poll
  }: PollOptions & { until?: readonly ActionStatus[] } = {},
): Promise<any> {
  const what = `action ${id} to be ${until.join(' or ')}`;
  return pollUntil(api, `/v1/actions/${id}`, (action) => until.includes(action.status), poll, what);
}

/** Polls an incident until its follow-up is done (status "done"); returns it. */
export function waitForIncident(api: Api, id: string, poll: PollOptions = {}): Promise<any> {
  const what = `incident ${id} to be done`;
  return pollUntil(api, `/v1/incidents/${id}`, (body) => body.status === 'done', poll, what);
}

/** Which path of the tool server runs the type; irreversible, with a 5 s timeout, unless told. */
export interface WebhookTypeOptions {
  path: string;
  reversible?: boolean;
  compensation?: string;
  timeoutMs?: number;
}

/**
 * Registers (or replaces) an action type run by a signed webhook to `tools` at `path`:
 * a {@link ToolServer}, or any server given by its URL and secret.
 */
export async function registerWebhookType(
  admin: Api,
  tools: Pick<ToolServer, 'url' | 'secret'>,
  type: string,
  { path, reversible = false, compensation, timeoutMs = 5000 }: WebhookTypeOptions,
) {
  const reply = await admin.put(`/v1/action-types/${type}`, {
    executor: { kind: 'webhook', url: `${tools.url}${path}`, timeoutMs, secret: tools.secret },
    reversible,
    ...(compensation ? { compensation } : {}),
  });
  expect(reply.status).toBe(200);
  return reply.body;
}

/** What an agent runtime does every few seconds: present its lease token. */
export function heartbeat(ks: RunningApp, token: string): Promise<Reply> {
  return ks.anonymous.as(token).post('/v1/leases/heartbeat', {});
}

/**
 * What an agent runtime does to hear of its revocation at once: opens the `/agents` push
 * socket with its lease token. The socket goes into `opened`, for the caller to close.
 */
export function openAgentSocket(url: string, token: string | undefined, opened: Socket[]): Socket {
  const socket = io(`${url}/agents`, {
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  opened.push(socket);
  return socket;
}

/** Resolves once `socket` connects; rejects with the server's connect_error, or after a bound. */
export function connected(socket: Socket, timeoutMs = 5000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no connect within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
  });
}

/** What a resource server does (RFC 7662): a form-encoded `token=...` with its own API key. */
export function introspect(api: Api, token: string): Promise<Reply> {
  return api.request('POST', '/v1/introspect', new URLSearchParams({ token }).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
}
