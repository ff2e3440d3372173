import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '@app/actions';

export interface ToolRequest {
  path: string;
  body: {
    actionId: string;
    agentId: string;
    type: string;
    params: any;
    attempt: number;
    compensates?: string;
  };
  signatureValid: boolean;
  receivedAt: number;
}

type Handler = (
  request: ToolRequest,
  response: ServerResponse,
  raw: IncomingMessage,
) => void | Promise<void>;

/**
 * A real HTTP tool server, as a team would run behind an action type's webhook: it verifies
 * the signature, records every request and answers as each test tells it to.
 */
export class ToolServer {
  readonly requests: ToolRequest[] = [];
  private readonly handlers = new Map<string, Handler>();
  private server!: Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(readonly secret = 'tool-server-secret-0123456789') {}

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Answers requests to `path` with `handler` (default: 200 `{result: {ok: true}}`). */
  on(path: string, handler: Handler): this {
    this.handlers.set(path, handler);
    return this;
  }

  /** Back to the default answer for `path`. */
  off(path: string): this {
    this.handlers.delete(path);
    return this;
  }

  received(path?: string): ToolRequest[] {
    return path ? this.requests.filter((r) => r.path === path) : this.requests;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const request: ToolRequest = {
          path: req.url ?? '/',
          body: JSON.parse(text || '{}'),
          signatureValid: verifySignature(
            this.secret,
            text,
            req.headers['x-killswitch-signature'] as string | undefined,
          ),
          receivedAt: Date.now(),
        };
        this.requests.push(request);
        const handler = this.handlers.get(request.path);
        if (!handler) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ result: { ok: true } }));
          return;
        }
        void Promise.resolve(handler(request, res, req)).catch(() => res.destroy());
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
