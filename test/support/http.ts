import { waitFor } from './redis';

/** A small JSON client over Node's fetch: what an SDK or a curl user would do. */
export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class Api {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  as(token: string | undefined): Api {
    return new Api(this.baseUrl, token);
  }

  get<T = any>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>('POST', path, body);
  }

  put<T = any>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>('PUT', path, body);
  }

  delete<T = any>(path: string): Promise<Reply<T>> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (this.token) {
      (init.headers as Record<string, string>).authorization = `Bearer ${this.token}`;
    }
    if (body !== undefined) {
      if (typeof body === 'string') {
        init.body = body;
      } else {
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
    }
    const response = await fetch(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (HTML docs, markdown reports): keep the text.
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }
}

/** Polls `GET /health/ready` until the app answers 200; no answer at all counts as not yet. */
export function waitUntilReady(api: Api, timeoutMs: number, what: string): Promise<void> {
  return waitFor(
    async () => {
      try {
        return (await api.get('/health/ready')).status === 200;
      } catch {
        return false;
      }
    },
    timeoutMs,
    what,
    100,
  );
}
