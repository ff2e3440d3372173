import type { IncomingMessage, Server } from 'node:http';

/** HTTP servers shutting down: each of their answers closes its connection. */
const draining = new WeakSet<object>();

/**
 * Asks every client of `server` to leave as it shuts down: idle keep-alive connections are
 * closed now, and each busy one after its next answer, the one under way included
 * (`Connection: close`, set as its head is written by the response class of
 * `responseWithHeaders`). `server.close()` waits for the last connection to end,
 * and a keep-alive client sending request after request (a load balancer's pool, an agent's
 * heartbeats) would otherwise hold its connection, and so the shutdown, until
 * SHUTDOWN_TIMEOUT_MS kills the process.
 */
export function drain(server: Server): void {
  if (draining.has(server)) {
    return;
  }
  draining.add(server);
  server.closeIdleConnections();
  // An answer whose head went out before the drain (a long one) leaves its connection kept
  // alive, and idle once it ends: closed by the next pass.
  const passes = setInterval(() => server.closeIdleConnections(), 500).unref();
  server.once('close', () => clearInterval(passes));
}

/** Whether the request came through a server being drained (see {@link drain}). */
export function isDraining(request: IncomingMessage): boolean {
  // Node sets `server` on the sockets a net.Server accepts.
  const server = (request.socket as { server?: object } | undefined)?.server;
  return server !== undefined && draining.has(server);
}
