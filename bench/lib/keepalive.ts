import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One answer of {@link KeepAliveClient}: status, parsed JSON body and when it arrived. */
export interface Timed<T = unknown> {
  status: number;
  body: T;
  /** `performance.now()` when the request was handed to the socket and when it was answered. */
  sentAt: number;
  answeredAt: number;
}

export interface SendOptions {
  /** `Authorization: Bearer <token>`. */
  token?: string;
  /** A JSON body. */
  json?: unknown;
  /** An `application/x-www-form-urlencoded` body (RFC 7662 introspection). */
  form?: Record<string, string>;
  /** Bound on the call; 10 s unless told. */
  timeoutMs?: number;
}

/**
 * A JSON client over `node:http` with its own pool of keep-alive sockets to one loopback
 * server. Lighter per request than `fetch` (which matters where the harness measures
 * latencies of a few milliseconds) and able to run thousands of fixture calls quickly.
 */
export class KeepAliveClient {
  private readonly agent: Agent;
  private readonly url: URL;

  /**
   * @param baseUrl - `http://127.0.0.1:<port>`; loopback only.
   * @param sockets - the most sockets open at once (requests beyond wait for one).
   */
  constructor(
    baseUrl: string,
    sockets = 16,
    private readonly signal?: AbortSignal,
  ) {
    this.url = new URL(baseUrl);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(this.url.hostname)) {
      throw new Error(`benchmarks talk to loopback only, not to ${baseUrl}`);
    }
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
    // One listener for the whole pool (not one per request): an abort closes every socket,
    // which fails the requests in flight.
    signal?.addEventListener('abort', () => this.agent.destroy(), { once: true });
  }

  send<T = unknown>(method: string, path: string, options: SendOptions = {}): Promise<Timed<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: string | undefined;
    if (options.form) {
      payload = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (options.json !== undefined) {
      payload = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    if (payload !== undefined) {
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (options.token) {
      headers.authorization = `Bearer ${options.token}`;
    }
    return new Promise<Timed<T>>((resolve, reject) => {
      if (this.signal?.aborted) {
        const reason: unknown = this.signal.reason;
        reject(reason instanceof Error ? reason : new Error('aborted'));
        return;
      }
      const sentAt = performance.now();
      const req = request(
        {
          agent: this.agent,
          hostname: this.url.hostname,
          port: this.url.port,
          method,
          path,
          headers,
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const answeredAt = performance.now();
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({
                status: res.statusCode ?? 0,
                body: (text ? JSON.parse(text) : undefined) as T,
                sentAt,
                answeredAt,
              });
            } catch {
              reject(new Error(`${method} ${path} answered ${res.statusCode} with no JSON`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends and insists on one status, naming the call and the answer when it differs. */
  async expect<T = unknown>(
    status: number,
    method: string,
    path: string,
    options: SendOptions = {},
  ): Promise<T> {
    const reply = await this.send<T>(method, path, options);
    if (reply.status !== status) {
      throw new Error(
        `${method} ${path} answered ${reply.status}, expected ${status}: ${JSON.stringify(reply.body)}`,
      );
    }
    return reply.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
