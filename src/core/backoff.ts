/**
 * How long to wait before attempt `attempt` (1-based) of something that failed: exponential from
 * `base` ms, capped at `max` ms, half of it fixed and half random, so clients that failed together
 * do not come back together, nor at once. The one backoff of calls, watch streams and relay
 * subscriptions.
 */
export function backoff(attempt: number, base = 50, max = 1_000, random: () => number = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Waits `ms`, or less when `signal` aborts; resolves true when the wait was complete. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
