import { Module } from '@nestjs/common';
import { AgentsModule as AgentsDomainModule } from '@app/agents';
import { RevocationModule } from '@app/revocation';
import { LeasesController } from '../leases/leases.controller';
import { AgentsController } from './agents.controller';
import { AgentsGateway } from './agents.gateway';

/** HTTP and socket transport for agents, their leases and their revocation. */
@Module({
  imports: [AgentsDomainModule, RevocationModule],
  controllers: [AgentsController, LeasesController],
  providers: [AgentsGateway],
})
export class AgentsHttpModule {}
