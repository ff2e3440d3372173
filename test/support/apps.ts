import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, configWith } from '@app/config';
import { generateSecret } from '@app/auth';
import { createKillswitchApp } from '../../apps/killswitch/src/bootstrap';
import { createRelayApp } from '../../apps/mobile-relay/src/bootstrap';
import { Api } from './http';
import { deletePrefix, REDIS_URL, testPrefix } from './redis';

export interface RunningApp {
  app: NestFastifyApplication;
  url: string;
  config: AppConfig;
  /** The bootstrap admin's key (KILLSWITCH_ADMIN_KEY of this test deployment). */
  adminKey: string;
  admin: Api;
  anonymous: Api;
  /** Closes the app; closing it again does nothing, so a test may close an app early. */
  close(): Promise<void>;
}

/** Leases that end within seconds: a 2 s TTL under a 3 s maximum lifetime. */
export const SHORT_LEASES: Partial<AppConfig> = {
  leaseDefaultTtlSeconds: 2,
  leaseMaxTtlSeconds: 3,
  leaseMaxLifetimeSeconds: 3,
};

/** Options shared by the apps of one test deployment (same Redis, same prefix). */
export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return configWith({
    redisUrl: REDIS_URL,
    keyPrefix: testPrefix(),
    adminKey: generateSecret('ksk'),
    logLevel: 'silent',
    host: '127.0.0.1',
    ...overrides,
  });
}

async function listen(app: NestFastifyApplication, config: AppConfig): Promise<RunningApp> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = await app.getUrl();
  const adminKey = config.adminKey ?? '';
  let closed: Promise<void> | undefined;
  return {
    app,
    url,
    config,
    adminKey,
    admin: new Api(url, adminKey),
    anonymous: new Api(url),
    close: () => (closed ??= app.close()),
  };
}

const QUIET = { bufferLogs: false, quiet: true };

/** An app of this deployment's wiring, started in this process on a random port. */
async function start(
  app: NestFastifyApplication,
  config: AppConfig,
  prepare?: (app: NestFastifyApplication) => void,
): Promise<RunningApp> {
  prepare?.(app);
  return listen(app, config);
}

/**
 * Starts the killswitch API in this process, on a random port; `prepare` runs on the app before
 * it starts (and registers its routes).
 */
export async function startKillswitch(
  config: AppConfig = testConfig(),
  prepare?: (app: NestFastifyApplication) => void,
): Promise<RunningApp> {
  return start(await createKillswitchApp(config, QUIET), config, prepare);
}

/** Starts the mobile relay in this process, as {@link startKillswitch} does the API. */
export async function startRelay(
  config: AppConfig = testConfig(),
  prepare?: (app: NestFastifyApplication) => void,
): Promise<RunningApp> {
  return start(await createRelayApp(config, QUIET), config, prepare);
}

/**
 * The apps of one test deployment (one Redis, one key prefix) for a `describe`: `close()`
 * closes every app it started, newest first, then deletes the deployment's keys.
 */
export class TestDeployment {
  readonly config: AppConfig;
  private readonly apps: RunningApp[] = [];

  constructor(overrides: Partial<AppConfig> = {}) {
    this.config = testConfig(overrides);
  }

  /** Starts one more killswitch instance of this deployment (see {@link startKillswitch}). */
  async killswitch(prepare?: (app: NestFastifyApplication) => void): Promise<RunningApp> {
    return this.started(await startKillswitch(this.config, prepare));
  }

  /** Starts one more relay instance of this deployment (see {@link startRelay}). */
  async relay(prepare?: (app: NestFastifyApplication) => void): Promise<RunningApp> {
    return this.started(await startRelay(this.config, prepare));
  }

  async close(): Promise<void> {
    for (const app of [...this.apps].reverse()) {
      await app.close();
    }
    await deletePrefix(this.config.keyPrefix);
  }

  private started(app: RunningApp): RunningApp {
    this.apps.push(app);
    return app;
  }
}
