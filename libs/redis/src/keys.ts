/**
 * The Redis key schema: every key killswitch writes, one line each, built here and nowhere else.
 *
 * Every key starts with the deployment's KEY_PREFIX, so that tests, benchmarks and several
 * deployments can share one Redis. Keys that a Lua script or MULTI touches together share one
 * `{hash tag}`, so the schema works unchanged on Redis Cluster:
 * - `{auth}`: users and API keys (small, rarely written; one slot keeps user creation atomic).
 * - `{agt_…}` (the agent id itself): an agent and its leases, so that revoking it (status,
 *   epoch and every lease at once) is one Lua script on one slot.
 * Indexes that span agents (listing, labels, owners) live outside any agent's slot and are
 * written before the agent itself, so a crash leaves at worst an index entry to skip.
 *
 * | key                                   | type   | holds                                          |
 * | ------------------------------------- | ------ | ---------------------------------------------- |
 * | `<p>:{auth}:user:<userId>`            | hash   | id, name, role, createdAt                      |
 * | `<p>:{auth}:users`                    | zset   | userId scored by creation time (ms)            |
 * | `<p>:{auth}:admins`                   | set    | userIds whose role is admin (bootstrap check)  |
 * | `<p>:{auth}:apikey:<sha256>`          | hash   | userId, createdAt of one live API key          |
 * | `<p>:{auth}:user:<userId>:apikeys`    | set    | sha256 of each live API key of the user        |
 * | `<p>:{<agentId>}:agent`               | hash   | id, name, owner, labels, allowedActions (JSON), status, epoch, createdAt, revokedAt/revokeReason/revokedBy/incidentId |
 * | `<p>:{<agentId>}:leases`              | zset   | sha256 of each lease token, scored by when its record may be forgotten (ms) |
 * | `<p>:{<agentId>}:lease:<sha256>`      | hash   | leaseId, epoch, issuedAt, expiresAt, maxExpiresAt, ttlMs (ms); revokedAt, revokeReason once revoked |
 * | `<p>:agents`                          | zset   | `<createdAt ms, 15 digits>:<agentId>`, all scores 0 (lexicographic paging) |
 * | `<p>:owner:<userId>:agents`           | zset   | same members, the agents one user owns          |
 * | `<p>:label:<key>=<value>`             | set    | agentIds carrying that label                    |
 */
export class Keys {
  constructor(readonly prefix: string) {}

  user(userId: string): string {
    return `${this.prefix}:{auth}:user:${userId}`;
  }

  users(): string {
    return `${this.prefix}:{auth}:users`;
  }

  admins(): string {
    return `${this.prefix}:{auth}:admins`;
  }

  apiKey(hash: string): string {
    return `${this.prefix}:{auth}:apikey:${hash}`;
  }

  userApiKeys(userId: string): string {
    return `${this.prefix}:{auth}:user:${userId}:apikeys`;
  }

  agent(agentId: string): string {
    return `${this.prefix}:{${agentId}}:agent`;
  }

  agentLeases(agentId: string): string {
    return `${this.prefix}:{${agentId}}:leases`;
  }

  lease(agentId: string, tokenHash: string): string {
    return `${this.prefix}:{${agentId}}:lease:${tokenHash}`;
  }

  agentsIndex(): string {
    return `${this.prefix}:agents`;
  }

  ownerAgents(userId: string): string {
    return `${this.prefix}:owner:${userId}:agents`;
  }

  labelAgents(key: string, value: string): string {
    return `${this.prefix}:label:${key}=${value}`;
  }

  /** Prefix for BullMQ queues of this deployment (BullMQ adds its own `{queue}` hash tag). */
  bullPrefix(): string {
    return `${this.prefix}:bull`;
  }

  /** Channel/key prefix for the socket.io Redis adapter, so deployments never share rooms. */
  socketIoPrefix(): string {
    return `${this.prefix}:socket.io`;
  }
}
