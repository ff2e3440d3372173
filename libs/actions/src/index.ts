export * from './action';
export * from './action-type';
export { ActionsModule } from './actions.module';
export { ActionsService, type SubmitAction } from './actions.service';
export { ActionTypesService, type ActionTypeInput } from './action-types.service';
export { ActionsRepository } from './actions.repository';
export {
  ActionsQueue,
  ACTIONS_QUEUE,
  actionJobOptions,
  type ExecuteActionJob,
  type ControlMessage,
} from './actions.queue';
export { ExecutorRegistry } from './executors/executor-registry';
export { signBody, verifySignature } from './executors/signature';
export {
  ExecutionError,
  type ActionExecutor,
  type ExecutionOutcome,
  type ExecutionRequest,
} from './executors/executor';
