import type { KillSwitchLogger } from './types';

/**
 * Fills in missing levels and swallows logger exceptions: a broken logger
 * must never be able to interrupt a revocation or keep a timer from being
 * cleared.
 */
export function safeLogger(logger: KillSwitchLogger | undefined): Required<KillSwitchLogger> {
  const wrap =
    (level: keyof KillSwitchLogger) =>
    (message: string, meta?: Record<string, unknown>): void => {
      try {
        // Calling through `logger` keeps `this` bound for class-based loggers.
        if (meta === undefined) {
          logger?.[level]?.(message);
        } else {
          logger?.[level]?.(message, meta);
        }
      } catch {
        // Nothing sensible to do with a failing logger.
      }
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
