import { setTimeout as sleep } from 'node:timers/promises';

/** Summary of a set of latency samples, in milliseconds. */
export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples (`p` in 0..100). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function distribution(samples: number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || 1),
  };
}

/** Milliseconds with one decimal (or two below 1 ms): 3.14159 → "3.1 ms". */
export const fineMs = (value: number): string =>
  Number.isFinite(value) ? `${value.toFixed(value < 1 ? 2 : 1)} ms` : 'n/a';

/**
 * Polls `check` every `intervalMs` (sleeping inside the loop) until it answers true, the
 * bound passes or `signal` aborts.
 *
 * @throws naming `what` when the bound passes first.
 */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  options: { what: string; timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await check()) {
      return;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${options.what}: not reached within ${options.timeoutMs} ms`);
    }
    await sleep(options.intervalMs ?? 100, undefined, { signal: options.signal });
  }
}
