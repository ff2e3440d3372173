import type { FetchLike, KillSwitchAbortReason } from './types';

/** Where a session talks to, derived from the configured base URL. */
export interface Endpoints {
  /** `POST` target of lease renewals. */
  readonly heartbeatUrl: string;
  /** Socket.IO URI whose path is the `/agents` namespace. */
  readonly socketUrl: string;
  /** Socket.IO engine path; carries the base URL's path prefix, if any. */
  readonly socketPath: string;
}

/**
 * Derives the endpoints from a base URL. Socket.IO reads the URL path as the
 * namespace, so a path prefix (reverse proxy mount point) must move into the
 * engine `path` option instead.
 *
 * @throws TypeError when `baseUrl` is not an absolute http(s) URL.
 */
export function resolveEndpoints(baseUrl: string): Endpoints {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch (error) {
    throw new TypeError(
      `Kill switch url must be an absolute http(s) URL, got ${JSON.stringify(baseUrl)}`,
      {
        cause: error,
      },
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`Kill switch url must use http or https, got ${parsed.protocol}`);
  }
  const prefix = parsed.pathname.replace(/\/+$/, '');
  return {
    heartbeatUrl: `${parsed.origin}${prefix}/v1/leases/heartbeat`,
    socketUrl: `${parsed.origin}/agents`,
    socketPath: `${prefix}/socket.io`,
  };
}

/** Classified answer to one heartbeat. */
export type HeartbeatOutcome =
  | {
      readonly kind: 'active';
      readonly expiresAt: Date;
      readonly epoch: number;
      /** No renewal extends the lease past this (older servers do not say). */
      readonly maxExpiresAt?: Date;
    }
  | {
      readonly kind: 'revoked';
      readonly reason: string;
      readonly revokedAt?: string;
      readonly incidentId?: string;
    }
  | { readonly kind: 'expired' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'failed'; readonly message: string; readonly cause?: unknown };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Classifies a heartbeat response.
 *
 * The rules lean towards stopping the agent: a terminal status in the body is
 * honoured whatever the HTTP status, and a 401 whose body cannot be read is
 * treated as an invalid lease rather than as a transient error. Only a
 * well-formed 200 renews the lease; everything else is a retryable failure.
 */
export function interpretHeartbeatResponse(httpStatus: number, body: unknown): HeartbeatOutcome {
  const status = isRecord(body) ? body['status'] : undefined;

  if (isRecord(body) && status === 'revoked') {
    return {
      kind: 'revoked',
      reason: optionalString(body['reason']) ?? 'no reason given',
      revokedAt: optionalString(body['revokedAt']),
      incidentId: optionalString(body['incidentId']),
    };
  }
  if (status === 'expired') {
    return { kind: 'expired' };
  }
  if (status === 'invalid') {
    return { kind: 'invalid' };
  }
  if (httpStatus === 401) {
    return { kind: 'invalid' };
  }

  if (httpStatus === 200) {
    if (isRecord(body) && status === 'active') {
      const expiresAt =
        typeof body['expiresAt'] === 'string' ? new Date(body['expiresAt']) : undefined;
      const epoch = body['epoch'];
      if (
        expiresAt &&
        !Number.isNaN(expiresAt.getTime()) &&
        typeof epoch === 'number' &&
        Number.isFinite(epoch)
      ) {
        const max =
          typeof body['maxExpiresAt'] === 'string' ? new Date(body['maxExpiresAt']) : undefined;
        return {
          kind: 'active',
          expiresAt,
          epoch,
          ...(max && !Number.isNaN(max.getTime()) ? { maxExpiresAt: max } : {}),
        };
      }
    }
    return { kind: 'failed', message: 'malformed heartbeat response (HTTP 200)' };
  }
  return { kind: 'failed', message: `unexpected heartbeat response (HTTP ${httpStatus})` };
}

/**
 * Turns a `lease.revoked` push payload into an abort reason. A payload that
 * does not match the contract still revokes: the event name alone is the
 * instruction to stop, the payload only explains it.
 */
export function revocationFromPush(payload: unknown): KillSwitchAbortReason {
  const body = isRecord(payload) ? payload : {};
  const reason: { -readonly [K in keyof KillSwitchAbortReason]: KillSwitchAbortReason[K] } = {
    cause: 'revoked',
    reason: optionalString(body['reason']) ?? 'revoked by push notification',
  };
  const revokedAt = optionalString(body['revokedAt']);
  const incidentId = optionalString(body['incidentId']);
  if (revokedAt !== undefined) {
    reason.revokedAt = revokedAt;
  }
  if (incidentId !== undefined) {
    reason.incidentId = incidentId;
  }
  return reason;
}

/** A heartbeat outcome plus the server's clock reading, when it sent one. */
export interface HeartbeatResult {
  readonly outcome: HeartbeatOutcome;
  readonly serverDateMs?: number;
}

/** Parameters of {@link sendHeartbeat}. */
export interface SendHeartbeatParams {
  readonly fetch: FetchLike;
  readonly url: string;
  readonly token: string;
  readonly timeoutMs: number;
  /** Cancels the request when the session ends. */
  readonly signal?: AbortSignal;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    // undici hides the useful part (ECONNREFUSED, ENOTFOUND...) in `cause`.
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

/**
 * Sends one heartbeat. Never rejects: transport problems are reported as a
 * `failed` outcome so the caller has a single place to decide about retries.
 */
export async function sendHeartbeat(params: SendHeartbeatParams): Promise<HeartbeatResult> {
  const controller = new AbortController();
  // AbortSignal.timeout throws on fractional or non-positive delays.
  const timeout = AbortSignal.timeout(Math.max(1, Math.round(params.timeoutMs)));
  const onTimeout = (): void => controller.abort(timeout.reason);
  const onCancel = (): void => controller.abort(params.signal?.reason);
  // Combined by hand rather than with AbortSignal.any, which early Node 20
  // releases lack and which has leaked signals in some of them.
  timeout.addEventListener('abort', onTimeout, { once: true });
  params.signal?.addEventListener('abort', onCancel, { once: true });
  if (params.signal?.aborted) {
    controller.abort(params.signal.reason);
  }

  try {
    const response = await params.fetch(params.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${params.token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: '{}',
      signal: controller.signal,
    });
    let body: unknown;
    try {
      // Always consume the body: undici keeps the connection busy until it is read.
      body = await response.json();
    } catch {
      body = undefined;
    }
    const dateHeader = response.headers.get('date');
    const serverDateMs = dateHeader === null ? undefined : Date.parse(dateHeader);
    return {
      outcome: interpretHeartbeatResponse(response.status, body),
      serverDateMs:
        serverDateMs !== undefined && Number.isFinite(serverDateMs) ? serverDateMs : undefined,
    };
  } catch (error) {
    const message = timeout.aborted
      ? `heartbeat timed out after ${Math.round(params.timeoutMs)} ms`
      : `heartbeat request failed (${describeError(error)})`;
    return { outcome: { kind: 'failed', message, cause: error } };
  } finally {
    timeout.removeEventListener('abort', onTimeout);
    params.signal?.removeEventListener('abort', onCancel);
  }
}
