import { configSchema, RawConfig } from './config.schema';

/** Thrown when the environment does not describe a runnable deployment. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * The validated, typed configuration. Injected by class token, so that nothing else needs to
 * read `process.env`.
 */
export class AppConfig {
  readonly killswitchPort!: number;
  readonly relayPort!: number;
  readonly host!: string;
  readonly redisUrl!: string;
  readonly keyPrefix!: string;
  readonly adminKey?: string;
  readonly logLevel!: RawConfig['LOG_LEVEL'];
  readonly healthRedisTimeoutMs!: number;
  /** How long a caller's Redis command may wait for its answer before the call answers 503. */
  readonly redisCommandTimeoutMs!: number;
  readonly shutdownTimeoutMs!: number;
  readonly leaseDefaultTtlSeconds!: number;
  readonly leaseMaxTtlSeconds!: number;
  readonly leaseMaxLifetimeSeconds!: number;
  readonly maxBodyBytes!: number;
  /**
   * Proxies in front of the apps whose X-Forwarded-For is believed (0: none, the socket's
   * address is the client's). Pairing attempts are limited per client address.
   */
  readonly trustProxyHops!: number;
  readonly actionAgentConcurrency!: number;
  readonly actionWorkerConcurrency!: number;
  readonly actionMaxAttempts!: number;
  readonly actionBackoffMs!: number;
  readonly actionRetentionDays!: number;
  readonly actionRetentionPerAgent!: number;
  /** Most actions one agent may have queued or running; more are refused (429). */
  readonly actionMaxQueuedPerAgent!: number;
  /**
   * Largest answer a tool server may give one attempt (decoded bytes): its `result` and `undo`
   * are stored on the action, and `undo` is sent again as its compensation's params.
   */
  readonly actionMaxAnswerBytes!: number;
  /** The address phones open (pairing links point there). */
  readonly relayPublicUrl!: string;
  readonly pairingCodeTtlSeconds!: number;
  /** Whether this instance runs the action workers (API-only instances set WORKERS=off). */
  readonly workers!: boolean;

  constructor(values: Omit<AppConfig, never>) {
    Object.assign(this, values);
  }
}

/**
 * Validates the environment once. Empty strings count as unset so that `VAR= npm start`
 * falls back to the default rather than failing on an empty value.
 *
 * @throws ConfigError naming the first bad variable and what it expects.
 */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): AppConfig {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') {
      cleaned[key] = value;
    }
  }
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0] ?? 'configuration');
    const got = cleaned[variable];
    const shown = got === undefined || /KEY|TOKEN|SECRET/.test(variable) ? '' : ` (got "${got}")`;
    throw new ConfigError(`Invalid configuration: ${issue.message}${shown}`);
  }
  const c = parsed.data;
  const config = new AppConfig({
    killswitchPort: c.KILLSWITCH_PORT,
    relayPort: c.RELAY_PORT,
    host: c.HOST,
    redisUrl: c.REDIS_URL,
    keyPrefix: c.KEY_PREFIX,
    adminKey: c.KILLSWITCH_ADMIN_KEY,
    logLevel: c.LOG_LEVEL,
    healthRedisTimeoutMs: c.HEALTH_REDIS_TIMEOUT_MS,
    redisCommandTimeoutMs: c.REDIS_COMMAND_TIMEOUT_MS,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    leaseDefaultTtlSeconds: c.LEASE_DEFAULT_TTL_SECONDS,
    leaseMaxTtlSeconds: c.LEASE_MAX_TTL_SECONDS,
    leaseMaxLifetimeSeconds: c.LEASE_MAX_LIFETIME_SECONDS,
    maxBodyBytes: c.MAX_BODY_BYTES,
    trustProxyHops: c.TRUST_PROXY_HOPS,
    actionAgentConcurrency: c.ACTION_AGENT_CONCURRENCY,
    actionWorkerConcurrency: c.ACTION_WORKER_CONCURRENCY,
    actionMaxAttempts: c.ACTION_MAX_ATTEMPTS,
    actionBackoffMs: c.ACTION_BACKOFF_MS,
    actionRetentionDays: c.ACTION_RETENTION_DAYS,
    actionRetentionPerAgent: c.ACTION_RETENTION_PER_AGENT,
    actionMaxQueuedPerAgent: c.ACTION_MAX_QUEUED_PER_AGENT,
    actionMaxAnswerBytes: c.ACTION_MAX_ANSWER_BYTES,
    workers: c.WORKERS === 'on',
    relayPublicUrl: (c.RELAY_PUBLIC_URL ?? `http://localhost:${c.RELAY_PORT}`).replace(/\/+$/, ''),
    pairingCodeTtlSeconds: c.PAIRING_CODE_TTL_SECONDS,
  });
  if (config.leaseDefaultTtlSeconds > config.leaseMaxTtlSeconds) {
    throw new ConfigError(
      `Invalid configuration: LEASE_DEFAULT_TTL_SECONDS (${config.leaseDefaultTtlSeconds}) must not exceed LEASE_MAX_TTL_SECONDS (${config.leaseMaxTtlSeconds})`,
    );
  }
  if (config.leaseMaxTtlSeconds > config.leaseMaxLifetimeSeconds) {
    throw new ConfigError(
      `Invalid configuration: LEASE_MAX_TTL_SECONDS (${config.leaseMaxTtlSeconds}) must not exceed LEASE_MAX_LIFETIME_SECONDS (${config.leaseMaxLifetimeSeconds})`,
    );
  }
  return config;
}

/** Builds a config for tests and embedding: defaults, then the given overrides. */
export function configWith(overrides: Partial<AppConfig> = {}): AppConfig {
  return new AppConfig({ ...loadConfig({}), ...overrides });
}
