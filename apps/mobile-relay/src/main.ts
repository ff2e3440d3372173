import 'reflect-metadata';
import { runMain } from '@app/core';
import { createRelayApp } from './bootstrap';

void runMain('mobile-relay', async (config) => {
  const app = await createRelayApp(config);
  await app.listen({ port: config.relayPort, host: config.host });
  return { app, url: await app.getUrl() };
});
