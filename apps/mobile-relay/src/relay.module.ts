import { DynamicModule, Module } from '@nestjs/common';
import { ActionsModule } from '@app/actions';
import { AgentsModule } from '@app/agents';
import { AppConfig, ConfigModule } from '@app/config';
import { AuthModule } from '@app/auth';
import { loggingModule } from '@app/core';
import { DevicesModule } from '@app/devices';
import { HealthModule } from '@app/health';
import { RealtimeModule } from '@app/realtime';
import { RedisModule } from '@app/redis';
import { RevocationModule } from '@app/revocation';
import { DevicesGateway } from './devices.gateway';
import { FeedService } from './feed.service';
import { RelayController } from './relay.controller';
import { RedisWatch } from './redis-watch';
import { RelayEvents } from './relay-events';
import { StopService } from './stop.service';

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
        RealtimeModule,
        DevicesModule,
        AgentsModule,
        ActionsModule,
        RevocationModule,
      ],
      controllers: [RelayController],
      providers: [DevicesGateway, FeedService, RedisWatch, RelayEvents, StopService],
    };
  }
}
