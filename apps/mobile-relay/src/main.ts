import 'reflect-metadata';
import { listenOrExplain, runMain } from '@app/core';
import { createRelayApp } from './bootstrap';

void runMain('mobile-relay', async (config) => {
  const app = await createRelayApp(config);
  await listenOrExplain(app, config.relayPort, 'RELAY_PORT', config.host);
  return { app, url: await app.getUrl() };
});
