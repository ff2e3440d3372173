import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@app/config';
import { loggingModule } from '@app/core';
import { HealthModule } from '@app/health';
import { RedisModule } from '@app/redis';
import { DevicesModule } from '@app/devices';
import { LeasesModule } from '@app/leases';
import { RealtimeModule } from '@app/realtime';
import { ActionsHttpModule } from './actions/actions.module';
import { AgentsHttpModule } from './agents/agents.module';
import { DevicesController, UserDevicesController } from './devices/devices.controller';
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
        RealtimeModule,
        LeasesModule,
        UsersModule,
        AgentsHttpModule,
        ActionsHttpModule,
        DevicesModule,
      ],
      controllers: [DevicesController, UserDevicesController],
    };
  }
}
