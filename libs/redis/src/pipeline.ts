import type { ChainableCommander } from 'ioredis';

/**
 * Runs a pipeline or MULTI and answers its replies, throwing the first command's error: ioredis
 * resolves `exec()` with per-command errors, which are easy to drop by mistake.
 */
export async function execOrThrow(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) {
      throw error;
    }
    return value;
  });
}
