import { Module } from '@nestjs/common';
import { ActionsModule } from '@app/actions';
import { AgentsModule } from '@app/agents';
import { RevocationRepository } from './revocation.repository';
import { RevocationService } from './revocation.service';

@Module({
  imports: [AgentsModule, ActionsModule],
  providers: [RevocationRepository, RevocationService],
  exports: [RevocationService],
})
export class RevocationModule {}
