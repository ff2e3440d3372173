import 'reflect-metadata';
import { runMain } from '@app/core';
import { createKillswitchApp } from './bootstrap';

void runMain('killswitch', async (config) => {
  const app = await createKillswitchApp(config);
  await app.listen({ port: config.killswitchPort, host: config.host });
  return { app, url: await app.getUrl() };
});
