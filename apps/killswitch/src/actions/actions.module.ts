import { Module } from '@nestjs/common';
import { ActionsModule } from '@app/actions';
import { ActionsController } from './actions.controller';
import { ActionTypesController } from './action-types.controller';
import { ActionsWorker } from './actions.worker';

@Module({
  imports: [ActionsModule],
  controllers: [ActionTypesController, ActionsController],
  providers: [ActionsWorker],
})
export class ActionsHttpModule {}
