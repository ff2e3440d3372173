import { Injectable } from '@nestjs/common';
import type { ExecutorInput, ExecutorSpec } from '../action-type';
import type { ActionExecutor, ExecutionOutcome } from './executor';

type NoopSpec = Extract<ExecutorSpec, { kind: 'noop' }>;

/** Does nothing and succeeds: for dry runs of a policy and for measuring the gate itself. */
@Injectable()
export class NoopExecutor implements ActionExecutor<NoopSpec> {
  readonly kind = 'noop' as const;

  parse(input: ExecutorInput): NoopSpec {
    // A webhook's field here would be a mistake the caller believes took effect.
    // (The DTO has every kind's fields, left undefined where not sent.)
    const extra = Object.keys(input).filter((key) => key !== 'kind' && input[key] !== undefined);
    if (extra.length > 0) {
      throw new Error(`executor.${extra[0]} is not for noop executors: they take only kind`);
    }
    return { kind: 'noop' };
  }

  execute(): Promise<ExecutionOutcome> {
    return Promise.resolve({});
  }
}
