import { isIP } from 'node:net';
import { z } from 'zod';

const port = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a TCP port number between 1 and 65535` })
    .int(`${name} must be a whole number between 1 and 65535`)
    .min(1, `${name} must be between 1 and 65535`)
    .max(65535, `${name} must be between 1 and 65535`)
    .default(fallback);

const positiveInt = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a positive whole number` })
    .int(`${name} must be a positive whole number`)
    .positive(`${name} must be a positive whole number`)
    .default(fallback);

const redisUrl = z
  .string()
  .default('redis://127.0.0.1:6379')
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'REDIS_URL must be a URL such as redis://127.0.0.1:6379 (scheme redis: or rediss:)');

/**
 * Every environment variable killswitch reads. The README's configuration table mirrors this
 * schema; keep them together.
 */
/** The most actions of one agent that may run at once (its `concurrency`, or the default). */
export const MAX_AGENT_CONCURRENCY = 16;

// A host name: dot-separated labels of letters, digits, inner hyphens and underscores (not
// RFC 1123's, but what /etc/hosts and container networks resolve, e.g. a compose service name;
// a trailing dot too).
// One that does not resolve is caught when the app listens, naming HOST too.
const HOST_NAME =
  /^(?=.{1,254}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

/** REDIS_COMMAND_TIMEOUT_MS's default; also what a connection made outside an app waits. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;

export const configSchema = z.object({
  KILLSWITCH_PORT: port('KILLSWITCH_PORT', 3000),
  RELAY_PORT: port('RELAY_PORT', 3001),
  HOST: z
    .string()
    .refine(
      (value) => isIP(value) !== 0 || HOST_NAME.test(value),
      'HOST must be an address of this machine such as 0.0.0.0 (every interface), 127.0.0.1 or ::, or a host name',
    )
    .default('0.0.0.0'),
  REDIS_URL: redisUrl,
  KEY_PREFIX: z
    .string()
    .regex(
      /^[A-Za-z0-9_.-]{1,64}$/,
      'KEY_PREFIX must be 1-64 characters of letters, digits, "_", "." or "-"',
    )
    .default('ks'),
  KILLSWITCH_ADMIN_KEY: z
    .string()
    .regex(
      /^ksk_[A-Za-z0-9_-]{43,}$/,
      'KILLSWITCH_ADMIN_KEY must look like an API key: "ksk_" followed by at least 43 base64url characters (256 bits)',
    )
    .optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  HEALTH_REDIS_TIMEOUT_MS: positiveInt('HEALTH_REDIS_TIMEOUT_MS', 500),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(
    'REDIS_COMMAND_TIMEOUT_MS',
    DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  ),
  SHUTDOWN_TIMEOUT_MS: positiveInt('SHUTDOWN_TIMEOUT_MS', 10_000),
  LEASE_DEFAULT_TTL_SECONDS: positiveInt('LEASE_DEFAULT_TTL_SECONDS', 30),
  LEASE_MAX_TTL_SECONDS: positiveInt('LEASE_MAX_TTL_SECONDS', 300),
  LEASE_MAX_LIFETIME_SECONDS: positiveInt('LEASE_MAX_LIFETIME_SECONDS', 12 * 3600),
  MAX_BODY_BYTES: positiveInt('MAX_BODY_BYTES', 64 * 1024),
  TRUST_PROXY_HOPS: z.coerce
    .number({ error: 'TRUST_PROXY_HOPS must be a whole number of proxies (0 for none)' })
    .int('TRUST_PROXY_HOPS must be a whole number of proxies (0 for none)')
    .min(0, 'TRUST_PROXY_HOPS must be a whole number of proxies (0 for none)')
    .default(0),
  ACTION_AGENT_CONCURRENCY: positiveInt('ACTION_AGENT_CONCURRENCY', 1).refine(
    (value) => value <= MAX_AGENT_CONCURRENCY,
    `ACTION_AGENT_CONCURRENCY must be between 1 and ${MAX_AGENT_CONCURRENCY}, as an agent's own concurrency`,
  ),
  ACTION_WORKER_CONCURRENCY: positiveInt('ACTION_WORKER_CONCURRENCY', 32),
  ACTION_MAX_ATTEMPTS: positiveInt('ACTION_MAX_ATTEMPTS', 3),
  ACTION_BACKOFF_MS: positiveInt('ACTION_BACKOFF_MS', 1000),
  ACTION_RETENTION_DAYS: positiveInt('ACTION_RETENTION_DAYS', 7),
  ACTION_RETENTION_PER_AGENT: positiveInt('ACTION_RETENTION_PER_AGENT', 1000),
  ACTION_MAX_QUEUED_PER_AGENT: positiveInt('ACTION_MAX_QUEUED_PER_AGENT', 1000),
  ACTION_MAX_ANSWER_BYTES: positiveInt('ACTION_MAX_ANSWER_BYTES', 1024 * 1024),
  RELAY_PUBLIC_URL: z
    .string()
    .refine((value) => {
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'RELAY_PUBLIC_URL must be the http(s) URL phones open, such as https://stop.example.com')
    .optional(),
  PAIRING_CODE_TTL_SECONDS: positiveInt('PAIRING_CODE_TTL_SECONDS', 300),
  WORKERS: z.enum(['on', 'off'], { error: 'WORKERS must be "on" or "off"' }).default('on'),
});

export type RawConfig = z.infer<typeof configSchema>;
