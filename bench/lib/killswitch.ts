import { randomBytes } from 'node:crypto';
import { Api, inParallel } from './http';
import { built, ChildApp, freePort, startChild } from './processes';
import { cpuProfiling } from './profile';
import type { BenchContext } from './runner';

export interface KillswitchOptions {
  redisUrl: string;
  /** KEY_PREFIX of this deployment; see `benchPrefix()`. */
  keyPrefix: string;
  /** LOG_LEVEL; `warn` by default, as a production deployment would run. */
  logLevel?: string;
  /** Further variables (LEASE_MAX_TTL_SECONDS...). */
  env?: Record<string, string>;
  /** Lets `profileDuring()` write CPU profiles of the process into this directory. */
  cpuProfileDir?: string;
  /** Aborts fixture calls (the harness' Ctrl-C and deadline). */
  signal?: AbortSignal;
}

/** The built killswitch API (`dist/apps/killswitch/src/main.js`) in a child process. */
export interface KillswitchProcess {
  app: ChildApp;
  url: string;
  keyPrefix: string;
  /** KILLSWITCH_ADMIN_KEY of this deployment. */
  adminKey: string;
  /** A client that carries the admin key. */
  admin: Api;
}

/** A key in the shape KILLSWITCH_ADMIN_KEY requires: `ksk_` and 256 random bits. */
export function newAdminKey(): string {
  return `ksk_${randomBytes(32).toString('base64url')}`;
}

/**
 * Starts the built killswitch API on a free loopback port, with its own KEY_PREFIX and admin
 * key. The caller stops it (`app.stop()`) and deletes its keys.
 */
export async function startKillswitch(options: KillswitchOptions): Promise<KillswitchProcess> {
  const adminKey = newAdminKey();
  const profiling = cpuProfiling(options.cpuProfileDir);
  const app = await startChild({
    name: 'killswitch',
    script: built('apps/killswitch/src/main.js'),
    nodeArgs: profiling.nodeArgs,
    env: {
      ...profiling.env,
      REDIS_URL: options.redisUrl,
      KEY_PREFIX: options.keyPrefix,
      KILLSWITCH_ADMIN_KEY: adminKey,
      KILLSWITCH_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: options.logLevel ?? 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...options.env,
    },
  });
  return {
    app,
    url: app.url,
    keyPrefix: options.keyPrefix,
    adminKey,
    admin: new Api(app.url, adminKey, options.signal),
  };
}

/**
 * A deployment of two instances on one prefix, as the revocation benchmarks measure it: the
 * API (`WORKERS=off`), where users, agents and resource servers call, and the workers
 * (`WORKERS=on`), which run the actions and the revocation follow-up, so that each one's CPU
 * and profile is its own. Both can be profiled (`--cpu-prof`); both stop when the run ends.
 */
export async function startApiAndWorkers(
  ctx: BenchContext,
  keyPrefix: string,
  env: Record<string, string> = {},
): Promise<{ api: KillswitchProcess; workers: KillswitchProcess }> {
  const { redisUrl, settings, signal } = ctx;
  ctx.log(
    `starting killswitch: API (WORKERS=off) and workers (WORKERS=on), KEY_PREFIX=${keyPrefix}`,
  );
  const start = async (workers: 'on' | 'off') => {
    const instance = await startKillswitch({
      redisUrl,
      keyPrefix,
      logLevel: settings.logLevel,
      signal,
      env: { ...env, WORKERS: workers },
      cpuProfileDir: settings.cpuProfileDir,
    });
    ctx.defer(`stop killswitch (${workers === 'on' ? 'workers' : 'API'})`, () =>
      instance.app.stop(),
    );
    return instance;
  };
  const api = await start('off');
  return { api, workers: await start('on') };
}

/** Settings that let each agent have `perAgent` actions queued at once (the default allows 1000). */
export const queueRoomFor = (perAgent: number): Record<string, string> => ({
  ACTION_MAX_QUEUED_PER_AGENT: String(Math.max(1000, perAgent)),
});

export type Role = 'viewer' | 'owner' | 'responder' | 'admin';

/** A user created through the API, with a client carrying its key. */
export interface BenchUser {
  id: string;
  role: Role;
  apiKey: string;
  api: Api;
}

/** Creates a user of `role` with an admin's client. */
export async function createUser(
  admin: Api,
  role: Role,
  name = `bench-${role}`,
): Promise<BenchUser> {
  const user = await admin.expect<{ id: string; apiKey: string }>(201, '/v1/users', {
    name,
    role,
  });
  return { id: user.id, role, apiKey: user.apiKey, api: admin.as(user.apiKey) };
}

/** An agent with one live lease, as an agent runtime holds it. */
export interface LeasedAgent {
  agentId: string;
  leaseId: string;
  /** The lease token (`ksl_…`), what the agent sends on every heartbeat. */
  token: string;
}

export interface LeasedAgentsOptions {
  count: number;
  /** Lease TTL; must not exceed the deployment's LEASE_MAX_TTL_SECONDS (300 by default). */
  ttlSeconds?: number;
  /** Requests in flight while creating them. */
  concurrency?: number;
  allowedActions?: string[];
}

/** Registers `count` agents as the caller of `api` and issues each one lease. */
export function createLeasedAgents(api: Api, options: LeasedAgentsOptions): Promise<LeasedAgent[]> {
  return inParallel(options.count, options.concurrency ?? 8, async (index) => {
    const agent = await api.expect<{ id: string }>(201, '/v1/agents', {
      name: `bench-agent-${index}`,
      labels: { bench: 'true' },
      allowedActions: options.allowedActions ?? ['bench.noop'],
    });
    const lease = await api.expect<{ leaseId: string; token: string }>(
      201,
      `/v1/agents/${agent.id}/leases`,
      options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds },
    );
    return { agentId: agent.id, leaseId: lease.leaseId, token: lease.token };
  });
}
