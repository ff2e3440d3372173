import { isRedisUnavailable } from './connection';

/** The part of a Nest logger {@link outageAwareWarning} writes to. */
export interface WarningLogger {
  warn(fields: object, message: string): void;
}

/**
 * A warning for a failure that repeats while Redis is away: sweeps, workers and reconnects
 * retry every second or two, and each retry failing the same way wrote a line with its stack
 * (about 4 a second per instance, 200 MB a day of an outage). While the failure is Redis not
 * serving, one line per `everyMs` says so, with how many were left out; any other failure is
 * written every time, in full.
 */
export function outageAwareWarning(
  logger: WarningLogger,
  message: string,
  everyMs = 60_000,
  now: () => number = Date.now,
): (error: unknown) => void {
  let lastAt = -Infinity;
  let leftOut = 0;
  return (error) => {
    if (!isRedisUnavailable(error)) {
      logger.warn({ err: error }, message);
      return;
    }
    const at = now();
    if (at - lastAt < everyMs) {
      leftOut++;
      return;
    }
    lastAt = at;
    const reason = error instanceof Error ? error.message : String(error);
    logger.warn(
      leftOut > 0 ? { reason, leftOut } : { reason },
      leftOut > 0
        ? `${message}: Redis cannot serve (${leftOut} more such failures since the last line)`
        : `${message}: Redis cannot serve (such failures are logged once a minute meanwhile)`,
    );
    leftOut = 0;
  };
}
