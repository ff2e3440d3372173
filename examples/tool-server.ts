/**
 * A tool server behind a killswitch action type: it verifies every request's signature
 * before acting, and answers with the `undo` that would reverse what it did.
 *
 *   TOOL_SECRET=change-me-0123456789 PORT=4000 npx ts-node examples/tool-server.ts
 *
 * Register it (as an admin):
 *   curl -X PUT $KS/v1/action-types/email.unarchive -H "authorization: Bearer $ADMIN" \
 *     -H 'content-type: application/json' \
 *     -d '{"executor":{"kind":"webhook","url":"http://127.0.0.1:4000/unarchive","secret":"change-me-0123456789"},"reversible":false}'
 *   curl -X PUT $KS/v1/action-types/email.archive ... \
 *     -d '{"executor":{"kind":"webhook","url":"http://127.0.0.1:4000/archive","secret":"change-me-0123456789"},"reversible":true,"compensation":"email.unarchive"}'
 *
 * Only Node's standard library: copy it into any service.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, Server } from 'node:http';

/**
 * Checks `X-Killswitch-Signature: t=<unix seconds>,v1=<hex>`, where v1 is
 * HMAC-SHA256(secret, "<t>.<raw body>"). Verify the raw bytes, before parsing, and refuse
 * old timestamps so a captured request cannot be replayed later.
 */
export function isSignedByKillswitch(
  secret: string,
  rawBody: string,
  header: string | undefined,
  toleranceSeconds = 300,
): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) {
    return false;
  }
  const timestamp = Number(match[1]);
  if (Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) {
    return false;
  }
  const expected = createHmac('sha256', secret).update(`${match[1]}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2], 'hex'));
}

/** The mailbox this demo acts on: archived message ids. */
const archived = new Set<string>();

/**
 * @param log - told one line per request answered (the demo prints them, so that you see the
 *   compensations a stop sends)
 */
export function createToolServer(secret: string, log: (line: string) => void = () => {}): Server {
  return createServer((request, response) => {
    // Joined as bytes, then decoded: a character split across two chunks stays whole, and so
    // does the signature check.
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let what = '';
      const reply = (status: number, body: unknown) => {
        log(`${request.method} ${request.url}${what} -> ${status}`);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (!isSignedByKillswitch(secret, raw, request.headers['x-killswitch-signature'] as string)) {
        reply(401, { error: 'bad signature' });
        return;
      }
      // killswitch may deliver an attempt more than once (retries, a worker crash):
      // a real server would also remember actionId and not act twice.
      const { actionId, params } = JSON.parse(raw) as {
        actionId: string;
        params: { messageId?: unknown };
      };
      const messageId = params.messageId;
      what = ` ${actionId} messageId=${JSON.stringify(messageId ?? null)}`;
      if (typeof messageId !== 'string') {
        reply(400, { error: 'params.messageId is required' });
        return;
      }
      if (request.url === '/archive') {
        archived.add(messageId);
        reply(200, { result: { archived: messageId }, undo: { messageId } });
      } else if (request.url === '/unarchive') {
        archived.delete(messageId);
        reply(200, { result: { unarchived: messageId } });
      } else {
        reply(404, { error: 'unknown tool' });
      }
    });
  });
}

if (require.main === module) {
  const secret = process.env.TOOL_SECRET;
  if (!secret || secret.length < 16) {
    console.error('TOOL_SECRET must be set (at least 16 characters)');
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 4000);
  createToolServer(secret, (line) => console.log(line)).listen(port, '127.0.0.1', () =>
    console.log(`tool server on http://127.0.0.1:${port}`),
  );
}
