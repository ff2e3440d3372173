import { CliConfig } from './config';
import { CliError, EXIT } from './errors';

/** How long one request may take before the CLI calls the server unreachable. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The reason behind a fetch failure, for people: "connect ECONNREFUSED 127.0.0.1:3000". */
export function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  }
  // fetch throws TypeError('fetch failed') and hides what happened in `cause`.
  let cause: unknown = error instanceof Error && error.cause !== undefined ? error.cause : error;
  // Several addresses tried (localhost: ::1 and 127.0.0.1): Node reports an AggregateError.
  if (cause instanceof AggregateError && cause.errors.length > 0 && !cause.message) {
    cause = cause.errors[0];
  }
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return cause.message || code || cause.name;
  }
  return String(cause);
}

/** The server's sentence from an error body `{error, message}`, or the HTTP status. */
function serverMessage(status: number, statusText: string, text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
    if (typeof message === 'string' && message) {
      return message;
    }
    if (typeof body.error === 'string' && body.error) {
      return body.error;
    }
  } catch {
    // Not JSON (a proxy's HTML page): fall back to the status line.
  }
  return `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
}

/** The killswitch API over fetch, turning every failure into a {@link CliError}. */
export class KillswitchClient {
  constructor(private readonly config: CliConfig) {}

  get url(): string {
    return this.config.url;
  }

  getJson<T>(path: string): Promise<T> {
    return this.request('GET', path).then((text) => JSON.parse(text) as T);
  }

  postJson<T>(path: string, body: unknown): Promise<T> {
    return this.request('POST', path, body).then((text) => JSON.parse(text) as T);
  }

  getText(path: string): Promise<string> {
    return this.request('GET', path);
  }

  private async request(method: string, path: string, body?: unknown): Promise<string> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.config.apiKey}`,
      'x-killswitch-client': 'cli',
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.config.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw new CliError(
        `cannot reach killswitch at ${this.config.url}: ${networkReason(error)}`,
        EXIT.unreachable,
      );
    }
    if (response.ok) {
      return text;
    }
    const message = serverMessage(response.status, response.statusText, text);
    if (response.status === 401) {
      throw new CliError(`the API key was refused: ${message}`, EXIT.denied);
    }
    if (response.status === 403) {
      throw new CliError(`your role may not do this: ${message}`, EXIT.denied);
    }
    throw new ServerError(message, response.status);
  }
}

/** Any other 4xx/5xx: the server's own message. */
export class ServerError extends CliError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message, EXIT.failed);
    this.name = 'ServerError';
  }
}
