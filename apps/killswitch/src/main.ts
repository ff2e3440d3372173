import 'reflect-metadata';
import { listenOrExplain, runMain } from '@app/core';
import { createKillswitchApp } from './bootstrap';

void runMain('killswitch', async (config) => {
  const app = await createKillswitchApp(config);
  await listenOrExplain(app, config.killswitchPort, 'KILLSWITCH_PORT', config.host);
  return { app, url: await app.getUrl() };
});
