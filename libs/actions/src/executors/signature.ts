import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `X-Killswitch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, in the
 * style of Stripe's webhooks: the timestamp inside the MAC lets receivers refuse replays.
 */
export function signBody(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * Verifies a signature header; what a tool server runs before acting on a request.
 *
 * @param toleranceSeconds - how old a request may be (default 300 s).
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  if (!header) {
    return false;
  }
  const parts = Object.fromEntries(
    header.split(',').map((part) => part.split('=', 2) as [string, string]),
  );
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    return false;
  }
  const expected = Buffer.from(signBody(secret, body, timestamp).split('v1=')[1], 'hex');
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
