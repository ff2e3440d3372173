import { Module } from '@nestjs/common';
import { ActionsModule } from '@app/actions';
import { AgentsModule } from '@app/agents';
import { IncidentsModule } from '@app/incidents';
import { FollowupService } from './followup.service';
import { RevocationQueue } from './revocation.queue';
import { RevocationRepository } from './revocation.repository';
import { RevocationService } from './revocation.service';

/** The fence, bulk selection, incidents and the durable follow-up after a stop. */
@Module({
  imports: [AgentsModule, ActionsModule, IncidentsModule],
  providers: [RevocationRepository, RevocationService, RevocationQueue, FollowupService],
  exports: [RevocationService, FollowupService, RevocationQueue, IncidentsModule],
})
export class RevocationModule {}
