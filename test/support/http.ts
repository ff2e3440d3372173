import { connect } from 'node:net';
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

/**
 * Sends `request` as it is, bytes a fetch client would never send (a wrong content-length, a
 * request line that is not HTTP), and returns the answers read until the server closes.
 */
export function sendRaw(baseUrl: string, request: string): Promise<Reply[]> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.end(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseAnswers(Buffer.concat(chunks).toString('latin1'))));
  });
}

/** Splits HTTP/1.1 answers with a content-length, one after another, into replies. */
function parseAnswers(text: string): Reply[] {
  const replies: Reply[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      throw new Error(`Not an HTTP answer: ${rest}`);
    }
    const [statusLine, ...fields] = rest.slice(0, end).split('\r\n');
    const headers = new Headers(
      fields.map((field): [string, string] => {
        const colon = field.indexOf(':');
        return [field.slice(0, colon), field.slice(colon + 1).trim()];
      }),
    );
    const length = Number(headers.get('content-length') ?? 0);
    const body = rest.slice(end + 4, end + 4 + length);
    replies.push({ status: Number(statusLine.split(' ')[1]), body: JSON.parse(body), headers });
    rest = rest.slice(end + 4 + length);
  }
  return replies;
}
