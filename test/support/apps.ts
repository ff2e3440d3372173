import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, configWith } from '@app/config';
import { generateSecret } from '@app/auth';
import { createKillswitchApp } from '../../apps/killswitch/src/bootstrap';
import { createRelayApp } from '../../apps/mobile-relay/src/bootstrap';
import { Api } from './http';
import { REDIS_URL, testPrefix } from './redis';

export interface RunningApp {
  app: NestFastifyApplication;
  url: string;
  config: AppConfig;
  /** The bootstrap admin's key (KILLSWITCH_ADMIN_KEY of this test deployment). */
  adminKey: string;
  admin: Api;
  anonymous: Api;
  close(): Promise<void>;
}

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
  return {
    app,
    url,
    config,
    adminKey,
    admin: new Api(url, adminKey),
    anonymous: new Api(url),
    close: () => app.close(),
  };
}

/** Starts the killswitch API in this process, on a random port. */
export async function startKillswitch(config: AppConfig = testConfig()): Promise<RunningApp> {
  return listen(await createKillswitchApp(config, { bufferLogs: false, quiet: true }), config);
}

/** Starts the mobile relay in this process, on a random port. */
export async function startRelay(config: AppConfig = testConfig()): Promise<RunningApp> {
  return listen(await createRelayApp(config, { bufferLogs: false, quiet: true }), config);
}
