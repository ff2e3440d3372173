import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@app/config';
import { loggingModule } from '@app/core';
import { HealthModule } from '@app/health';
import { RedisModule } from '@app/redis';
import { UsersModule } from './users/users.module';

/** The killswitch API and its workers. */
@Module({})
export class KillswitchModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: KillswitchModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, 'killswitch'),
        RedisModule,
        HealthModule,
        UsersModule,
      ],
    };
  }
}
