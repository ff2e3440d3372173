import { Module } from '@nestjs/common';
import { AgentsModule as AgentsDomainModule } from '@app/agents';
import { RevocationModule } from '@app/revocation';
import { LeasesController } from '../leases/leases.controller';
import { IncidentsController } from '../revocation/incidents.controller';
import { RevocationsController } from '../revocation/revocations.controller';
import { RevocationWorker } from '../revocation/revocation.worker';
import { AgentsController } from './agents.controller';
import { AgentsGateway } from './agents.gateway';

/** HTTP, socket and worker transport for agents, leases, revocation and incidents. */
@Module({
  imports: [AgentsDomainModule, RevocationModule],
  controllers: [AgentsController, LeasesController, RevocationsController, IncidentsController],
  providers: [AgentsGateway, RevocationWorker],
})
export class AgentsHttpModule {}
