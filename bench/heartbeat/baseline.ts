/**
 * The heartbeat benchmark's baseline: the same framework as killswitch (NestJS 11 on Fastify,
 * ioredis through the same command connection), one POST endpoint doing one Redis GET and
 * nothing else: no logger, guard, pipe or filter. Whatever killswitch spends beyond this on a
 * heartbeat is its own cost. Started by the benchmark as `node dist/bench/heartbeat/baseline.js`
 * with REDIS_URL, KEY_PREFIX and KILLSWITCH_PORT.
 */
import 'reflect-metadata';
import { Controller, HttpCode, Module, Post, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, ConfigModule } from '@app/config';
import { runMain } from '@app/core';
import { RedisModule, RedisService } from '@app/redis';
import { BASELINE_PATH, baselineKey } from './shared';

@Controller()
class BaselineController {
  private readonly key: string;

  constructor(private readonly redis: RedisService) {
    this.key = baselineKey(redis.keys.prefix);
  }

  @Post(BASELINE_PATH.slice(1))
  @HttpCode(200)
  async read() {
    return { status: 'active', value: await this.redis.client.get(this.key) };
  }
}

@Module({})
class BaselineModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: BaselineModule,
      imports: [ConfigModule.forRoot(config), RedisModule],
      controllers: [BaselineController],
    };
  }
}

void runMain('baseline', async (config) => {
  const app = await NestFactory.create<NestFastifyApplication>(
    BaselineModule.forRoot(config),
    new FastifyAdapter(),
    { logger: ['error', 'warn'], abortOnError: false },
  );
  app.enableShutdownHooks();
  await app.listen({ port: config.killswitchPort, host: '127.0.0.1' });
  return { app, url: await app.getUrl() };
});
