import { Module } from '@nestjs/common';
import { AgentsModule } from '@app/agents';
import { ActionTypesRepository } from './action-types.repository';
import { ActionTypesService } from './action-types.service';
import { ActionsQueue } from './actions.queue';
import { ActionsRepository } from './actions.repository';
import { ActionsService } from './actions.service';
import { ExecutorRegistry } from './executors/executor-registry';
import { NoopExecutor } from './executors/noop.executor';
import { WebhookExecutor } from './executors/webhook.executor';

/** The action gate: catalog, submission, fenced execution and the ledger. */
@Module({
  imports: [AgentsModule],
  providers: [
    ActionTypesRepository,
    ActionTypesService,
    ActionsRepository,
    ActionsService,
    ActionsQueue,
    ExecutorRegistry,
    WebhookExecutor,
    NoopExecutor,
  ],
  exports: [ActionTypesService, ActionsService, ActionsRepository, ActionsQueue, ExecutorRegistry],
})
export class ActionsModule {}
