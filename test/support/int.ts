import { Agent, AgentsRepository, newAgentId } from '@app/agents';
import { AppConfig, configWith } from '@app/config';
import { RedisService } from '@app/redis';
import type { RevocationRepository } from '@app/revocation';
import { deletePrefix, REDIS_URL, testPrefix } from './redis';

/**
 * For an integration spec (repositories and Lua scripts below the HTTP layer): a connection to
 * the test Redis under a key prefix of the spec's own, connected before its tests and its keys
 * deleted after them. Call it at the top of the `describe`.
 */
export function redisForSpec(label: string): { config: AppConfig; redis: RedisService } {
  const config = configWith({ redisUrl: REDIS_URL, keyPrefix: testPrefix(label) });
  const redis = new RedisService(config);
  beforeAll(() => redis.connect());
  afterAll(async () => {
    await deletePrefix(config.keyPrefix);
    await redis.onApplicationShutdown();
  });
  return { config, redis };
}

/** Writes an active agent at epoch 1 straight to Redis. */
export async function storeAgent(
  agents: AgentsRepository,
  fields: Partial<Agent> = {},
): Promise<Agent> {
  const agent: Agent = {
    id: newAgentId(),
    name: 'int',
    owner: 'usr_0000000000000001',
    labels: {},
    allowedActions: [],
    status: 'active',
    epoch: 1,
    createdAt: new Date().toISOString(),
    ...fields,
  };
  await agents.create(agent);
  return agent;
}

/** Fences one agent, as a single stop does. */
export async function fenceAgent(
  revocations: RevocationRepository,
  agentId: string,
  reason: string,
  by: string,
  incidentId: string,
) {
  return (await revocations.fenceMany([agentId], reason, by, incidentId, true)).get(agentId);
}

/** Reinstates one agent, as an admin does (its timeline entry by "admin", reason "ok"). */
export function reinstateAgent(revocations: RevocationRepository, agentId: string) {
  return revocations.reinstate(agentId, 'ok', 'usr_a', {
    actor: 'admin',
    step: 'reinstate',
    agentId,
  });
}

/**
 * Writes a stop's incident as its call leaves it once it has recorded what it fenced
 * (`following_up`): from then on its agents may be reinstated.
 */
export async function recordedIncident(redis: RedisService, incidentId: string): Promise<void> {
  await redis.client.hset(redis.keys.incident(incidentId), {
    id: incidentId,
    status: 'following_up',
  });
}
