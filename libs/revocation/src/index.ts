export { RevocationModule } from './revocation.module';
export {
  RevocationService,
  type RevokeRequest,
  type RevocationAnswer,
  type DryRunAnswer,
  type ReinstateResult,
} from './revocation.service';
export { FollowupService, ShuttingDown } from './followup.service';
export { REVOCATION_QUEUE, RevocationQueue, type RevocationJob } from './revocation.queue';
export {
  type Selector,
  describeSelector,
  isSelector,
  SELECTOR_SCHEMAS,
  SELECTOR_SHAPES,
  SelectorConstraint,
  selectorProblem,
} from './selector';
export { FENCE_BATCH, RevocationRepository, type FenceResult } from './revocation.repository';
