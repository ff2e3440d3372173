import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '@app/config';
import { createHttpApp, type HttpAppOptions } from '@app/core';
import { RelayModule } from './relay.module';

/** Builds the relay app without listening; shared by `main.ts` and the tests. */
export async function createRelayApp(
  config: AppConfig,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  return createHttpApp(RelayModule.forRoot(config) as never, {
    bodyLimit: config.maxBodyBytes,
    ...options,
  });
}
