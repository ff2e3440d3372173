export * from './incident';
export { IncidentsModule } from './incidents.module';
export { IncidentsService } from './incidents.service';
export {
  IncidentsRepository,
  type FencedAgent,
  type FollowupCounts,
  type FollowupSteps,
  type IncidentOpening,
  type StepEntry,
  type StoredEntry,
} from './incidents.repository';
export { renderIncidentMarkdown } from './incident.markdown';
