// Every wait of the client goes through here: one clamp, one backoff, one sleep.

/** The longest a timer can wait (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** `setTimeout` with `ms` clamped to what timers can wait: 0 to 24.8 days (NaN: 0). */
export function setTimer(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
  return setTimeout(callback, clampMs(ms));
}

/** `setInterval` with the same clamp. */
export function setRepeating(callback: () => void, ms: number): ReturnType<typeof setInterval> {
  return setInterval(callback, clampMs(ms));
}

export function clampMs(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
}

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
    const timer = setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `onSilent` once nothing was heard for `ms`. `heard()` only notes the time; a timer that
 * fires early re-arms itself for what is left, so a busy stream costs no timer work per message.
 */
export class SilenceTimer {
  private readonly ms: number;
  private readonly onSilent: () => void;
  private last = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, onSilent: () => void) {
    this.ms = ms;
    this.onSilent = onSilent;
  }

  /** Something was heard: the silence is counted from now. */
  heard(): void {
    this.last = performance.now();
    if (this.timer === undefined) this.arm(this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimer(() => {
      this.timer = undefined;
      const quiet = performance.now() - this.last;
      if (quiet >= this.ms) this.onSilent();
      else this.arm(this.ms - quiet);
    }, ms);
  }
}
