import { Injectable } from '@nestjs/common';
import type { ExecutorInput, ExecutorSpec } from '../action-type';
import { ActionExecutor, ExecutionError, ExecutionOutcome, ExecutionRequest } from './executor';
import { signBody } from './signature';

type WebhookSpec = Extract<ExecutorSpec, { kind: 'webhook' }>;

/** How long a tool server has to answer one attempt, unless its type says otherwise. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** POSTs the action to a tool server, signed, bounded by the type's timeout and the abort. */
@Injectable()
export class WebhookExecutor implements ActionExecutor<WebhookSpec> {
  readonly kind = 'webhook' as const;

  parse(input: ExecutorInput): WebhookSpec {
    const { url, timeoutMs = DEFAULT_TIMEOUT_MS, secret } = input;
    let parsed: URL | undefined;
    try {
      parsed = typeof url === 'string' ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
      throw new Error('executor.url must be an absolute http(s) URL');
    }
    if (parsed.username || parsed.password) {
      // Anyone who may read the catalog's origins would read them; requests are signed instead.
      throw new Error(
        'executor.url must not carry credentials (user:password@): the tool server checks ' +
          "each request's signature against the type's secret",
      );
    }
    if (
      typeof timeoutMs !== 'number' ||
      !Number.isInteger(timeoutMs) ||
      timeoutMs < 1 ||
      timeoutMs > 300_000
    ) {
      throw new Error('executor.timeoutMs must be a whole number from 1 to 300000');
    }
    if (typeof secret !== 'string' || secret.length < 16) {
      throw new Error('executor.secret must be at least 16 characters');
    }
    return { kind: 'webhook', url: url as string, timeoutMs, secret };
  }

  async execute(spec: WebhookSpec, request: ExecutionRequest): Promise<ExecutionOutcome> {
    const body = JSON.stringify({
      actionId: request.actionId,
      agentId: request.agentId,
      type: request.type,
      params: request.params,
      attempt: request.attempt,
      ...(request.compensates ? { compensates: request.compensates } : {}),
    });
    const signature = signBody(spec.secret, body, Math.floor(Date.now() / 1000));
    let response: Response;
    try {
      response = await fetch(spec.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-killswitch-signature': signature,
          'x-killswitch-action-id': request.actionId,
        },
        body,
        signal: AbortSignal.any([request.signal, AbortSignal.timeout(spec.timeoutMs)]),
        redirect: 'error',
      });
    } catch (error) {
      if (request.signal.aborted) {
        throw new ExecutionError('aborted', false);
      }
      // DOMException (the timeout) is not always an Error subclass across realms.
      const { name } = (error ?? {}) as { name?: unknown };
      // The origin only: the action's error is readable by its agent, and a webhook's path or
      // query may itself be a secret.
      const where = new URL(spec.url).origin;
      throw new ExecutionError(
        name === 'TimeoutError'
          ? `${where}: no answer within ${spec.timeoutMs} ms`
          : `${where}: request failed: ${failureOf(error)}`,
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // Cut while reading the answer (timeout, abort): not a success without its undo.
      if (request.signal.aborted) {
        throw new ExecutionError('aborted', false);
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new ExecutionError(`the answer could not be read: ${message}`);
    }
    if (!response.ok) {
      throw new ExecutionError(`tool server answered ${response.status}: ${text.slice(0, 200)}`);
    }
    if (text.trim() === '') {
      return {};
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ExecutionError('tool server answered 2xx with a body that is not JSON', false);
    }
    const outcome = (parsed ?? {}) as { result?: unknown; undo?: unknown };
    return { result: outcome.result, undo: outcome.undo };
  }
}

/**
 * Why a request failed, in words a person can act on: fetch's own message is only "fetch
 * failed", and the cause (a DNS miss, a refused connection, a bad certificate) is one level down.
 */
function failureOf(error: unknown): string {
  const { message, cause } = (error ?? {}) as { message?: unknown; cause?: unknown };
  const { message: why, code } = (cause ?? {}) as { message?: unknown; code?: unknown };
  if (typeof why === 'string' && why !== '') {
    return typeof code === 'string' && !why.includes(code) ? `${why} (${code})` : why;
  }
  return typeof message === 'string' ? message : String(error);
}
