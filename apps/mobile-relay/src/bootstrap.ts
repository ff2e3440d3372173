import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '@app/config';
import { createHttpApp, type HttpAppOptions } from '@app/core';
import { RedisIoAdapter } from '@app/realtime';
import { RelayModule } from './relay.module';

/** Builds the relay app without listening; shared by `main.ts` and the tests. */
export async function createRelayApp(
  config: AppConfig,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(RelayModule.forRoot(config) as never, {
    bodyLimit: config.maxBodyBytes,
    trustProxyHops: config.trustProxyHops,
    unknownRouteHint:
      'the relay serves the phone page, POST /v1/pair and POST /v1/stop; the API is killswitch ' +
      '(KILLSWITCH_PORT)',
    ...options,
  });
  app.useWebSocketAdapter(new RedisIoAdapter(app));
  // The phone page: static files, cached briefly so a fix reaches phones soon.
  app.useStaticAssets({
    root: join(__dirname, '..', 'public'),
    prefix: '/',
    maxAge: 60_000,
  });
  return app;
}
