import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder } from '@nestjs/swagger';
import { AppConfig } from '@app/config';
import { API_SECURITY_HEADERS, createHttpApp, serveApiDocs, type HttpAppOptions } from '@app/core';
import { RedisIoAdapter } from '@app/realtime';
import { DEVICE_TOKEN_SCHEME } from './relay.controller';
import { RelayModule } from './relay.module';

/**
 * The phone page holds a device token that can stop agents: a site that framed it could trick
 * its two taps of STOP ALL, and an injected script could read the token. So the page loads only
 * its own files (no inline script or style: none to allow), talks only to its own origin
 * (`'self'` covers its websocket too, except in Safari before 16, where socket.io falls back to
 * long-polling), and may not be framed.
 */
export const RELAY_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * Swagger UI at `/docs`, on the phone page's origin: its own scripts only, as the page, but the
 * inline styles and `data:` images Swagger UI is built with. It holds no token and runs no
 * inline script, so the looser styles cannot reach the page's device token.
 */
export const RELAY_DOCS_CONTENT_SECURITY_POLICY = RELAY_CONTENT_SECURITY_POLICY.replace(
  "style-src 'self'",
  "style-src 'self' 'unsafe-inline'",
).replace("img-src 'self'", "img-src 'self' data:");

/** Builds the relay app without listening; shared by `main.ts` and the tests. */
export async function createRelayApp(
  config: AppConfig,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(RelayModule.forRoot(config) as never, {
    bodyLimit: config.maxBodyBytes,
    trustProxyHops: config.trustProxyHops,
    unknownRouteHint:
      'the relay serves the phone page, POST /v1/pair and POST /v1/stop (listed at /docs); the ' +
      'API is killswitch (KILLSWITCH_PORT)',
    securityHeaders: {
      ...API_SECURITY_HEADERS,
      'content-security-policy': RELAY_CONTENT_SECURITY_POLICY,
    },
    ...options,
  });
  app.useWebSocketAdapter(new RedisIoAdapter(app));
  // The relay's HTTP routes; its socket.io events are in the README (OpenAPI has no words for them).
  serveApiDocs(
    app,
    new DocumentBuilder()
      .setTitle('killswitch mobile relay')
      .setDescription(
        "Pairing a phone, and its stops over HTTP when websockets are blocked. The phone's " +
          'socket.io events (namespace /devices) are described in the README, under "The phone ' +
          'flow"; the killswitch API has its own document at its /docs.',
      )
      .setVersion('0.1.0')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'ksd_…',
          description: "A paired device's token (ksd_…), from POST /v1/pair",
        },
        DEVICE_TOKEN_SCHEME,
      )
      .build(),
    RELAY_DOCS_CONTENT_SECURITY_POLICY,
  );
  // The phone page: static files, cached briefly so a fix reaches phones soon.
  app.useStaticAssets({
    root: join(__dirname, '..', 'public'),
    prefix: '/',
    maxAge: 60_000,
  });
  return app;
}
