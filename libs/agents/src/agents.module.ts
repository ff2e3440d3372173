import { Module } from '@nestjs/common';
import { AgentsRepository } from './agents.repository';
import { AgentsService } from './agents.service';

@Module({
  providers: [AgentsRepository, AgentsService],
  exports: [AgentsService],
})
export class AgentsModule {}
