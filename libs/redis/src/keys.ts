/**
 * The Redis key schema: every key killswitch writes, one line each, built here and nowhere else.
 *
 * Every key starts with the deployment's KEY_PREFIX, so that tests, benchmarks and several
 * deployments can share one Redis. Keys that a Lua script or MULTI touches together share one
 * `{hash tag}`, so the schema works unchanged on Redis Cluster:
 * - `{auth}`: users and API keys (small, rarely written; one slot keeps user creation atomic).
 *
 * | key                                   | type   | holds                                          |
 * | ------------------------------------- | ------ | ---------------------------------------------- |
 * | `<p>:{auth}:user:<userId>`            | hash   | id, name, role, createdAt                      |
 * | `<p>:{auth}:users`                    | zset   | userId scored by creation time (ms)            |
 * | `<p>:{auth}:admins`                   | set    | userIds whose role is admin (bootstrap check)  |
 * | `<p>:{auth}:apikey:<sha256>`          | hash   | userId, createdAt of one live API key          |
 * | `<p>:{auth}:user:<userId>:apikeys`    | set    | sha256 of each live API key of the user        |
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

  /** Prefix for BullMQ queues of this deployment (BullMQ adds its own `{queue}` hash tag). */
  bullPrefix(): string {
    return `${this.prefix}:bull`;
  }

  /** Channel/key prefix for the socket.io Redis adapter, so deployments never share rooms. */
  socketIoPrefix(): string {
    return `${this.prefix}:socket.io`;
  }
}
