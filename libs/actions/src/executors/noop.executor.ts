import { Injectable } from '@nestjs/common';
import type { ExecutorSpec } from '../action-type';
import type { ActionExecutor, ExecutionOutcome } from './executor';

type NoopSpec = Extract<ExecutorSpec, { kind: 'noop' }>;

/** Does nothing and succeeds: for dry runs of a policy and for measuring the gate itself. */
@Injectable()
export class NoopExecutor implements ActionExecutor<NoopSpec> {
  readonly kind = 'noop' as const;

  parse(): NoopSpec {
    return { kind: 'noop' };
  }

  execute(): Promise<ExecutionOutcome> {
    return Promise.resolve({});
  }
}
