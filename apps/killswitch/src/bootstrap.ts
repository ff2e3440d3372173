import { DocumentBuilder } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '@app/config';
import { RedisIoAdapter } from '@app/realtime';
import { createHttpApp, serveApiDocs, type HttpAppOptions } from '@app/core';
import { API_KEY_SCHEME, LEASE_TOKEN_SCHEME } from './common/api-docs.decorator';
import { KillswitchModule } from './killswitch.module';

/**
 * Builds the killswitch app without listening, so that `main.ts` and the end-to-end tests
 * run exactly the same wiring.
 */
export async function createKillswitchApp(
  config: AppConfig,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(KillswitchModule.forRoot(config) as never, {
    bodyLimit: config.maxBodyBytes,
    trustProxyHops: config.trustProxyHops,
    unknownRouteHint:
      "this API's routes are listed at /docs; pairing a phone (POST /v1/pair) and its stops " +
      '(POST /v1/stop) are on the mobile relay (RELAY_PORT)',
    ...options,
  });
  app.useWebSocketAdapter(new RedisIoAdapter(app));
  serveApiDocs(
    app,
    new DocumentBuilder()
      .setTitle('killswitch')
      .setDescription(
        'Revocable leases, fenced action queues and one-call revocation for autonomous agents.',
      )
      .setVersion('0.1.0')
      // Opaque tokens, not JWTs: a prefix, then random bits (see "Using the API" in README.md).
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'ksk_…',
          description: 'An API key (ksk_…): people, scripts and resource servers',
        },
        API_KEY_SCHEME,
      )
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'ksl_…',
          description: "A lease token (ksl_…): an agent runtime's, while its lease is live",
        },
        LEASE_TOKEN_SCHEME,
      )
      .build(),
  );
  return app;
}
