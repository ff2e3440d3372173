export * from './agent';
export { AgentsModule } from './agents.module';
export { AgentsService, canSeeAll, type AgentQuery, type NewAgent } from './agents.service';
export { AgentsRepository } from './agents.repository';
