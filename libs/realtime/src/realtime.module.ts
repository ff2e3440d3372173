import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { RedisService } from '@app/redis';
import { AgentNotifier } from './agent-notifier';
import { SocketIoRedis } from './socket-io-redis';

@Global()
@Module({
  providers: [
    {
      provide: SocketIoRedis,
      inject: [RedisService, AppConfig],
      useFactory: async (redis: RedisService, config: AppConfig) => {
        const connections = new SocketIoRedis(redis, config);
        await connections.connect();
        return connections;
      },
    },
    AgentNotifier,
  ],
  exports: [SocketIoRedis, AgentNotifier],
})
export class RealtimeModule {}
