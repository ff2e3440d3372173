import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { configWith } from '@app/config';
import { ToolServer } from '../../../../test/support/tool-server';
import { ExecutionError, ExecutionRequest } from './executor';
import { WebhookExecutor } from './webhook.executor';

const CAP = 4096;

/** Writes `total` bytes of `fill` in 64 KiB chunks, minding backpressure, until done or cut. */
function stream(response: ServerResponse, total: number, fill = 'x'): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, fill);
  return new Promise((resolve) => {
    let sent = 0;
    response.on('close', () => resolve());
    const more = () => {
      while (sent < total && !response.destroyed) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!response.write(chunk.subarray(0, n))) {
          response.once('drain', more);
          return;
        }
      }
      if (sent >= total) {
        response.end();
      }
    };
    more();
  });
}

/** A JSON answer `{result: {blob}}` of exactly `bytes` bytes. */
function answerOf(bytes: number): string {
  const empty = JSON.stringify({ result: { blob: '' } });
  return JSON.stringify({ result: { blob: 'x'.repeat(bytes - empty.length) } });
}

// The webhook executor against a real HTTP tool server, below the gate: what it reads, what it
// refuses and how each failure is classed for the retry policy.
describe('webhook executor (real HTTP)', () => {
  const tools = new ToolServer();
  const executor = new WebhookExecutor(configWith({ actionMaxAnswerBytes: CAP }));
  let seq = 0;

  beforeAll(() => tools.start());
  afterAll(() => tools.stop());

  const spec = (path: string, timeoutMs = 5000) =>
    executor.parse({
      kind: 'webhook',
      url: `${tools.url}${path}`,
      timeoutMs,
      secret: tools.secret,
    });

  const request = (signal = new AbortController().signal): ExecutionRequest => ({
    actionId: `act_int_${++seq}`,
    agentId: 'agt_int',
    type: 'test.int',
    params: { n: seq },
    attempt: 1,
    signal,
  });

  /** The ExecutionError an attempt fails with (a test fails if it succeeds). */
  async function failure(path: string, timeoutMs?: number, signal?: AbortSignal) {
    const error: unknown = await executor.execute(spec(path, timeoutMs), request(signal)).then(
      () => new Error('the attempt succeeded'),
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ExecutionError);
    return error as ExecutionError;
  }

  it('takes an answer of exactly the cap, and refuses one byte more without a retry', async () => {
    const body = answerOf(CAP);
    expect(Buffer.byteLength(body)).toBe(CAP);
    tools.on('/at-cap', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    });
    tools.on('/over-cap', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(answerOf(CAP + 1));
    });
    expect(await executor.execute(spec('/at-cap'), request())).toEqual(JSON.parse(body));
    expect(tools.received('/at-cap')[0].signatureValid).toBe(true);
    const error = await failure('/over-cap');
    expect(error.message).toBe(
      'tool server answer too large: over 4 KiB (ACTION_MAX_ANSWER_BYTES)',
    );
    expect(error.retryable).toBe(false);
  });

  it('stops reading a large answer at the cap and closes the connection', async () => {
    let ended: Promise<void> | undefined;
    let finished = false;
    tools.on('/huge', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.on('finish', () => (finished = true));
      ended = stream(response, 64 * 1024 * 1024);
    });
    const error = await failure('/huge');
    expect(error.message).toMatch(/^tool server answer too large: over 4 KiB/);
    // The tool server sees its connection closed long before its 64 MiB are through.
    await ended;
    expect(finished).toBe(false);
  });

  it('counts an answer after decompression', async () => {
    const body = gzipSync(answerOf(CAP * 100));
    expect(body.length).toBeLessThan(CAP);
    tools.on('/gzip', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(body);
    });
    expect((await failure('/gzip')).message).toMatch(/^tool server answer too large/);
  });

  it('holds the cap for what is stored, which can be longer than what was read', async () => {
    // "9e20" is 4 bytes on the wire and 21 digits once written again as JSON.
    const count = Math.floor((CAP - '{"result":[]}'.length) / 5);
    const wire = `{"result":[${Array<string>(count).fill('9e20').join(',')}]}`;
    expect(Buffer.byteLength(wire)).toBeLessThanOrEqual(CAP);
    tools.on('/expands', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(wire);
    });
    const error = await failure('/expands');
    expect(error.message).toMatch(/^tool server answer too large/);
    expect(error.retryable).toBe(false);
  });

  it('keeps the start of a large refusal for its error, and retries it', async () => {
    let ended: Promise<void> | undefined;
    let finished = false;
    tools.on('/refused', (_request, response) => {
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.on('finish', () => (finished = true));
      ended = stream(response, 64 * 1024 * 1024, 'r');
    });
    const error = await failure('/refused');
    expect(error.message).toBe(`tool server answered 503: ${'r'.repeat(200)}`);
    expect(error.retryable).toBe(true);
    // Only its first few KiB were read.
    await ended;
    expect(finished).toBe(false);
  });

  it('cuts an answer that drips past the timeout', async () => {
    tools.on('/drip', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"result":"');
      const timer = setInterval(() => response.write('x'), 20);
      response.on('close', () => clearInterval(timer));
    });
    const error = await failure('/drip', 300);
    expect(error.message).toBe(`${tools.url}: answer not complete within 300 ms`);
    expect(error.retryable).toBe(true);
  });

  it('stops reading when the action is aborted mid-answer, without a retry', async () => {
    const abort = new AbortController();
    tools.on('/abort', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"result":"');
      let writes = 0;
      // Well after the headers: the abort lands while the body is being read.
      const timer = setInterval(() => {
        response.write('x');
        if (++writes === 5) {
          abort.abort();
        }
      }, 20);
      response.on('close', () => clearInterval(timer));
    });
    const error = await failure('/abort', 5000, abort.signal);
    expect(error.message).toBe('aborted');
    expect(error.retryable).toBe(false);
  });

  it('refuses to follow a redirect', async () => {
    tools.on('/redirect', (_request, response) => {
      response.writeHead(302, { location: `${tools.url}/at-cap` });
      response.end();
    });
    const before = tools.received('/at-cap').length;
    const error = await failure('/redirect');
    expect(error.message).toMatch(/request failed/);
    expect(tools.received('/at-cap')).toHaveLength(before);
  });

  it('answers nothing for an empty 2xx', async () => {
    tools.on('/empty', (_request, response) => {
      response.writeHead(204);
      response.end();
    });
    await expect(executor.execute(spec('/empty'), request())).resolves.toEqual({});
  });
});
