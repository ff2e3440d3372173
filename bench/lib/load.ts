import autocannon from 'autocannon';

export interface LoadOptions {
  /** Shown in progress lines and the result table. */
  label: string;
  /** Base URL of the server, loopback only. */
  url: string;
  method?: 'GET' | 'POST';
  path: string;
  /** JSON body of every request (`{}` by default for POST). */
  body?: string;
  /** Headers of every request. */
  headers?: Record<string, string>;
  /**
   * Credentials spread over the requests: each connection sends `Authorization: Bearer <one
   * of them>`, cycling through all of them from its own starting point, so that at any moment
   * the connections present different tokens, as independent agents would.
   */
  bearerTokens?: string[];
  connections: number;
  /** Seconds measured. */
  duration: number;
  /** Seconds of load before the measurement, thrown away (JIT, connection pools, caches). */
  warmup: number;
  /** Stops the load early (Ctrl-C, the harness' deadline). */
  signal?: AbortSignal;
  /**
   * Cumulative counters (such as a process' CPU seconds) read right before and after the
   * measured run; the result reports each one's growth per request answered.
   */
  probes?: Record<string, () => Promise<number | undefined> | number | undefined>;
}

/** What one measured run gave. Latencies in milliseconds. */
export interface LoadResult {
  label: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  average: number;
  total: number;
  /** Requests that did not get a 2xx answer, errors and timeouts included. */
  failed: number;
  statusCodes: Record<string, number>;
  seconds: number;
  /** Growth of each probe per request answered (undefined when it could not be read). */
  perRequest: Record<string, number | undefined>;
}

type Probes = NonNullable<LoadOptions['probes']>;

async function readProbes(probes: Probes): Promise<Record<string, number | undefined>> {
  const values: Record<string, number | undefined> = {};
  for (const [name, probe] of Object.entries(probes)) {
    values[name] = await probe();
  }
  return values;
}

function requestsFor(options: LoadOptions): autocannon.Request[] {
  const method = options.method ?? 'POST';
  const base: autocannon.Request = {
    method,
    path: options.path,
    headers: {
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(method === 'POST' ? { body: options.body ?? '{}' } : {}),
  };
  return (options.bearerTokens ?? [undefined]).map((token) =>
    token === undefined
      ? base
      : { ...base, headers: { ...base.headers, authorization: `Bearer ${token}` } },
  );
}

async function fire(options: LoadOptions, seconds: number): Promise<autocannon.Result> {
  const requests = requestsFor(options);
  let connection = 0;
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    pipelining: 1,
    timeout: 10,
    title: options.label,
    requests,
    // Each connection starts at another point of the token list. The requests are built once
    // per connection here, so the load generator spends nothing per request on them.
    setupClient: (client) => {
      const offset = (connection++ * requests.length) / options.connections;
      const start = Math.floor(offset) % requests.length;
      client.setRequests([...requests.slice(start), ...requests.slice(0, start)]);
    },
  });
  const stop = () => instance.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    return await instance;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/**
 * Warms the server up, then measures it for `duration` seconds with `connections` concurrent
 * keep-alive connections (HTTP/1.1, no pipelining), each sending its next request as soon as
 * the previous one is answered.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(options.url)) {
    throw new Error(`benchmarks send load to loopback only, not to ${options.url}`);
  }
  if (options.warmup > 0) {
    await fire(options, options.warmup);
  }
  options.signal?.throwIfAborted();
  const probes = options.probes ?? {};
  const before = await readProbes(probes);
  const result = await fire(options, options.duration);
  const after = await readProbes(probes);
  options.signal?.throwIfAborted();
  const perRequest: Record<string, number | undefined> = {};
  for (const name of Object.keys(probes)) {
    const [start, end] = [before[name], after[name]];
    perRequest[name] =
      start === undefined || end === undefined || result.requests.total === 0
        ? undefined
        : (end - start) / result.requests.total;
  }
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats)) {
    statusCodes[code] = stats.count;
  }
  return {
    label: options.label,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    average: result.latency.average,
    total: result.requests.total,
    failed: result.non2xx + result.errors + result.timeouts,
    statusCodes,
    seconds: result.duration,
    perRequest,
  };
}
