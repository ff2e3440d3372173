import { Injectable } from '@nestjs/common';
import { AppConfig } from '@app/config';
import type { ExecutorInput, ExecutorSpec } from '../action-type';
import { ActionExecutor, ExecutionError, ExecutionOutcome, ExecutionRequest } from './executor';
import { signBody } from './signature';

type WebhookSpec = Extract<ExecutorSpec, { kind: 'webhook' }>;

/** How long a tool server has to answer one attempt, unless its type says otherwise. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** How much of a refusal (non-2xx) is read: its error keeps 200 characters of it. */
const REFUSAL_READ_BYTES = 4096;

/**
 * POSTs the action to a tool server, signed, bounded by the type's timeout and the abort; reads
 * at most `ACTION_MAX_ANSWER_BYTES` of its answer.
 */
@Injectable()
export class WebhookExecutor implements ActionExecutor<WebhookSpec> {
  readonly kind = 'webhook' as const;
  private readonly maxAnswerBytes: number;

  constructor(config: AppConfig) {
    this.maxAnswerBytes = config.actionMaxAnswerBytes;
  }

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
    // The body is read under the same signal as the request: a timeout or an abort cuts a
    // tool server that answers its headers at once and then drips.
    const limit = response.ok
      ? this.maxAnswerBytes
      : Math.min(this.maxAnswerBytes, REFUSAL_READ_BYTES);
    let answer: { text: string; cut: boolean };
    try {
      answer = await readUpTo(response, limit);
    } catch (error) {
      // Cut while reading the answer (timeout, abort): not a success without its undo.
      if (request.signal.aborted) {
        throw new ExecutionError('aborted', false);
      }
      const { name } = (error ?? {}) as { name?: unknown };
      if (name === 'TimeoutError') {
        throw new ExecutionError(
          `${new URL(spec.url).origin}: answer not complete within ${spec.timeoutMs} ms`,
        );
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new ExecutionError(`the answer could not be read: ${message}`);
    }
    const { text } = answer;
    if (!response.ok) {
      throw new ExecutionError(`tool server answered ${response.status}: ${text.slice(0, 200)}`);
    }
    // Not retried: a 2xx says the tool server acted, and asked again it would likely act again
    // and answer the same.
    if (answer.cut) {
      throw new ExecutionError(this.tooLarge(), false);
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
    const { result, undo } = outcome;
    // What is stored is JSON written again, which can be longer than what was read ("1e20"
    // becomes 21 digits): the cap holds for what lands in the ledger too.
    if (storedBytes(result) + storedBytes(undo) > this.maxAnswerBytes) {
      throw new ExecutionError(this.tooLarge(), false);
    }
    return { result, undo };
  }

  private tooLarge(): string {
    return `tool server answer too large: over ${bytesInWords(this.maxAnswerBytes)} (ACTION_MAX_ANSWER_BYTES)`;
  }
}

/**
 * The answer's text, from at most `limit` bytes of its body (decoded, as fetch hands them over
 * after decompression): `cut` when there was more, which is then left unread.
 */
async function readUpTo(
  response: Response,
  limit: number,
): Promise<{ text: string; cut: boolean }> {
  if (!response.body) {
    return { text: '', cut: false };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let cut = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    if (length + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - length));
      length = limit;
      cut = true;
      // Closes the connection rather than draining what is left of a large answer.
      void reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    length += value.byteLength;
  }
  // As response.text() decodes: UTF-8, a leading BOM dropped, bad bytes replaced.
  return { text: new TextDecoder().decode(Buffer.concat(chunks, length)), cut };
}

/** How many bytes a value takes once stored as JSON (0 for none). */
function storedBytes(value: unknown): number {
  const json = value === undefined ? undefined : JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(json);
}

/** 1048576 → "1 MiB", 65536 → "64 KiB", 1000 → "1000 bytes". */
function bytesInWords(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) {
    return `${bytes / (1024 * 1024)} MiB`;
  }
  if (bytes % 1024 === 0) {
    return `${bytes / 1024} KiB`;
  }
  return `${bytes} bytes`;
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
