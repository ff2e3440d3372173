import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { Keys } from './keys';
import { RedisService } from './redis.service';

@Global()
@Module({
  providers: [
    {
      provide: RedisService,
      inject: [AppConfig],
      // Connect before anything else starts, so a missing Redis stops start-up with one line.
      useFactory: async (config: AppConfig) => {
        const redis = new RedisService(config);
        await redis.connect();
        return redis;
      },
    },
    { provide: Keys, inject: [RedisService], useFactory: (redis: RedisService) => redis.keys },
  ],
  exports: [RedisService, Keys],
})
export class RedisModule {}
