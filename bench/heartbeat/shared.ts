/** What the heartbeat benchmark and its baseline server agree on. */

/** The baseline's one endpoint. */
export const BASELINE_PATH = '/baseline';

/** The key the baseline reads; the benchmark writes it first and deletes it with the rest. */
export const baselineKey = (prefix: string): string => `${prefix}:bench:baseline`;

/** The endpoint measured: what every agent runtime calls every few seconds. */
export const HEARTBEAT_PATH = '/v1/leases/heartbeat';

/** The target: heartbeats reach at least this share of the baseline's throughput. */
export const TARGET_RATIO = 0.7;
