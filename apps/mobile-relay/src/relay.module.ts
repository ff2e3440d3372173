import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@app/config';
import { AuthModule } from '@app/auth';
import { loggingModule } from '@app/core';
import { HealthModule } from '@app/health';
import { RedisModule } from '@app/redis';

/** The mobile relay: the phone page and the devices' socket.io endpoint. */
@Module({})
export class RelayModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RelayModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, 'mobile-relay'),
        RedisModule,
        HealthModule,
        AuthModule,
      ],
    };
  }
}
