import type { ExecutorInput, ExecutorSpec } from '../action-type';

/** What an executor is asked to do: one attempt of one action. */
export interface ExecutionRequest {
  actionId: string;
  agentId: string;
  type: string;
  params: unknown;
  attempt: number;
  /** For a compensation: the id of the action it undoes. */
  compensates?: string;
  /** Fires when the action is aborted (revocation) or the worker shuts down. */
  signal: AbortSignal;
}

/** A 2xx answer: `undo` is stored and becomes the compensation's params. */
export interface ExecutionOutcome {
  result?: unknown;
  undo?: unknown;
}

/** Thrown for a failed attempt; `retryable` false ends the action at once. */
export class ExecutionError extends Error {
  constructor(
    message: string,
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'ExecutionError';
  }
}

/**
 * One kind of executor (`webhook`, `noop`, ...). Adding a kind means writing one of these
 * and registering it in `ExecutorRegistry`; the gate itself does not change.
 */
export interface ActionExecutor<S extends ExecutorSpec = ExecutorSpec> {
  readonly kind: S['kind'];
  /**
   * The spec of a type being registered, with this kind's defaults filled in; throws a message
   * for an unusable one.
   */
  parse(input: ExecutorInput): S;
  execute(spec: S, request: ExecutionRequest): Promise<ExecutionOutcome>;
}
