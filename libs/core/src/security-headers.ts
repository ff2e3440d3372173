import { IncomingMessage, ServerResponse } from 'node:http';
import { isDraining } from './http-drain';

/**
 * What a JSON API needs from a browser: never sniff a body into another type (a JSON answer
 * echoing input read as HTML), never be framed, never leak its URL to another site. Its CSP says
 * only `frame-ancestors`, so that pages it serves (the Swagger UI at `/docs`, with its inline
 * styles) keep working.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * A Node response class that starts with `headers` set, for `http.createServer`'s
 * `ServerResponse` option; and with `Connection: close` while its server is drained for
 * shutdown ({@link drain} in http-drain.ts).
 *
 * Set on the response itself rather than in a Fastify hook (or with @fastify/helmet, which is
 * one): socket.io serves its client script and its long-polling answers from the same server
 * without passing through Fastify, and so does Fastify's router when it refuses a URL before any
 * hook runs. Whatever answers, Fastify or not, writes these headers unless it sets its own.
 */
export function responseWithHeaders(
  headers: Readonly<Record<string, string>>,
): typeof ServerResponse {
  const entries = Object.entries(headers);
  return class SecuredResponse<
    Request extends IncomingMessage = IncomingMessage,
  > extends ServerResponse<Request> {
    constructor(request: Request) {
      super(request);
      for (const [name, value] of entries) {
        this.setHeader(name, value);
      }
    }

    // Decided as the head is written, not when the request arrived: a request already under
    // way when the drain began is answered after it, and its connection must close too (left
    // open and idle, the server's close would wait on it until its keep-alive timeout).
    // `end()` without a `writeHead` goes through here as well.
    override writeHead(...args: unknown[]): this {
      if (isDraining(this.req) && !this.headersSent) {
        this.setHeader('connection', 'close');
      }
      return (super.writeHead as (...head: unknown[]) => this).apply(this, args);
    }
  };
}
