import { Injectable } from '@nestjs/common';
import { badRequest } from '@app/core';
import type { ExecutorInput, ExecutorSpec } from '../action-type';
import type { ActionExecutor, ExecutionOutcome, ExecutionRequest } from './executor';
import { NoopExecutor } from './noop.executor';
import { WebhookExecutor } from './webhook.executor';

type ExecutorMap = {
  [K in ExecutorSpec['kind']]: ActionExecutor<Extract<ExecutorSpec, { kind: K }>>;
};

/** kind → executor; a typed map, so a kind without an implementation does not compile. */
@Injectable()
export class ExecutorRegistry {
  private readonly executors: ExecutorMap;

  constructor(webhook: WebhookExecutor, noop: NoopExecutor) {
    this.executors = { webhook, noop };
  }

  kinds(): string[] {
    return Object.keys(this.executors);
  }

  /** The spec of a type being registered, as its kind's executor completes and checks it. */
  parse(input: ExecutorInput): ExecutorSpec {
    const executor = Object.hasOwn(this.executors, input.kind)
      ? (this.executors[input.kind as ExecutorSpec['kind']] as ActionExecutor)
      : undefined;
    if (!executor) {
      throw badRequest(`executor.kind must be one of ${this.kinds().join(', ')}`);
    }
    try {
      return executor.parse(input);
    } catch (error) {
      throw badRequest(error instanceof Error ? error.message : String(error));
    }
  }

  execute(spec: ExecutorSpec, request: ExecutionRequest): Promise<ExecutionOutcome> {
    const executor = this.executors[spec.kind] as ActionExecutor;
    return executor.execute(spec, request);
  }
}
