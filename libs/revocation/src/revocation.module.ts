import { Module } from '@nestjs/common';
import { AgentsModule } from '@app/agents';
import { RevocationRepository } from './revocation.repository';
import { RevocationService } from './revocation.service';

@Module({
  imports: [AgentsModule],
  providers: [RevocationRepository, RevocationService],
  exports: [RevocationService],
})
export class RevocationModule {}
