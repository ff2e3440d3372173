import { createHash, randomBytes } from 'node:crypto';

/**
 * Credentials are 256 random bits, base64url, behind a type prefix (`ksk_` API keys, `ksd_`
 * devices; lease tokens, `ksl_`, also carry their agent's id: see @app/leases) that secret
 * scanners can match. Only their SHA-256 is stored: with 256 bits of entropy a fast hash is
 * enough, and it keeps the hot lookup path cheap.
 */
export type SecretKind = 'ksk' | 'ksd';

export function generateSecret(kind: SecretKind): string {
  return `${kind}_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

const shapes: Record<SecretKind, RegExp> = {
  ksk: /^ksk_[A-Za-z0-9_-]{43,}$/,
  ksd: /^ksd_[A-Za-z0-9_-]{43,}$/,
};

/** Cheap shape check before touching Redis: wrong prefix or truncated secrets never match. */
export function looksLike(kind: SecretKind, secret: string): boolean {
  return shapes[kind].test(secret);
}

/** Extracts the credential from `Authorization: Bearer <secret>`; undefined when absent. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) {
    return undefined;
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

const CREDENTIALS = {
  ksk_: 'an API key (ksk_…)',
  ksl_: "an agent's lease token (ksl_…)",
  ksd_: "a paired device's token (ksd_…, from the relay's POST /v1/pair)",
} as const;

/**
 * When a caller sent one kind of credential where another is taken (an API key to an agent's
 * route, say), says so; a bare "unknown token" would leave them checking the wrong thing.
 */
export function mistakenCredential(
  token: string,
  wanted: keyof typeof CREDENTIALS,
): string | undefined {
  const sent = (Object.keys(CREDENTIALS) as (keyof typeof CREDENTIALS)[]).find((prefix) =>
    token.startsWith(prefix),
  );
  if (!sent || sent === wanted) {
    return undefined;
  }
  return `This takes ${CREDENTIALS[wanted]}, and this is ${CREDENTIALS[sent]}`;
}
