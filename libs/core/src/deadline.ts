/**
 * Waits for `work` at most `ms`; answers whether it finished in time. Closing queues, workers
 * and sockets can wait forever on a Redis that is gone; shutdown must not.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true as const), deadline]);
  } catch {
    return true;
  } finally {
    clearTimeout(timer);
  }
}
