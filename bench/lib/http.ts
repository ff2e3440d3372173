/** A reply of {@link Api}: status and parsed JSON body. */
export interface Reply<T = unknown> {
  status: number;
  body: T;
}

/**
 * A small JSON client over Node's fetch, for setting up fixtures (users, agents, leases) the
 * way a user or an SDK would. Each call is bounded, and stops early when `signal` aborts.
 */
export class Api {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
    private readonly signal?: AbortSignal,
    private readonly timeoutMs = 10_000,
  ) {}

  /** The same client with another credential. */
  as(token: string): Api {
    return new Api(this.baseUrl, token, this.signal, this.timeoutMs);
  }

  async post<T = unknown>(path: string, body: unknown = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token) {
      headers.authorization = `Bearer ${this.token}`;
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: this.signal ? AbortSignal.any([this.signal, timeout]) : timeout,
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Posts and insists on one status, naming the call and the answer when it differs. */
  async expect<T>(status: number, path: string, body: unknown = {}): Promise<T> {
    const reply = await this.post<T>(path, body);
    if (reply.status !== status) {
      throw new Error(
        `POST ${path} answered ${reply.status}, expected ${status}: ${JSON.stringify(reply.body)}`,
      );
    }
    return reply.body;
  }
}

/**
 * Runs `task` for 0..count-1 with at most `concurrency` in flight, in order of index.
 *
 * @returns the results, in order of index.
 */
export async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  });
  await Promise.all(lanes);
  return results;
}
