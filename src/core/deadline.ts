import { describe } from './codec.ts';
import { AbortedError, EtcdError, InvalidArgumentError, TimeoutError } from './errors.ts';
import { setTimer } from './timers.ts';

/**
 * A call's deadline joined with the caller's signal, and the error that explains which fired.
 * Cheap per call: one timer, no `AbortController` unless `signal` is asked for, and `race` waits
 * without touching any `EventTarget`.
 */
export class Deadline {
  readonly ms: number;
  readonly callerSignal: AbortSignal | undefined;
  private readonly started = performance.now();
  private readonly timer: ReturnType<typeof setTimeout>;
  private timedOutFlag = false;
  private stopped = false;
  private reason: unknown;
  private controller: AbortController | undefined;
  /** The one `race` in progress, told when the deadline or the caller ends the call. */
  private onStop: ((reason: unknown) => void) | undefined;
  private readonly onCallerAbort: (() => void) | undefined;

  constructor(ms: number, callerSignal?: AbortSignal) {
    this.ms = ms;
    this.callerSignal = callerSignal;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      throw new InvalidArgumentError(`timeout must be a positive number of milliseconds, got ${describe(ms)}`);
    }
    if (callerSignal !== undefined && !(callerSignal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`signal must be an AbortSignal, got ${describe(callerSignal)}`);
    }
    this.timer = setTimer(() => {
      this.timedOutFlag = true;
      this.stop(new DOMException('deadline exceeded', 'TimeoutError'));
    }, ms);
    if (callerSignal === undefined) return;
    if (callerSignal.aborted) {
      this.stop(callerSignal.reason);
    } else {
      this.onCallerAbort = () => this.stop(callerSignal.reason);
      callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
    }
  }

  /** Aborts when the deadline passes (a `TimeoutError` DOMException) or the caller aborts (its reason). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopped) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** True once the deadline (not the caller) ended the call. */
  get timedOut(): boolean {
    return this.timedOutFlag;
  }

  get aborted(): boolean {
    return this.stopped;
  }

  /** Milliseconds left (at least 1 while the call runs). */
  remaining(): number {
    return Math.max(1, Math.ceil(this.ms - (performance.now() - this.started)));
  }

  throwIfAborted(): void {
    if (this.stopped) throw this.reason;
  }

  /**
   * Settles with `promise`, or rejects with the reason as soon as the deadline passes or the
   * caller aborts (cancelling `response`'s body): a `fetch` that ignores its signal cannot hold
   * the call. One race at a time.
   */
  race<T>(promise: Promise<T>, response?: Response): Promise<T> {
    if (this.stopped) {
      void response?.body?.cancel().catch(() => {});
      promise.catch(() => {});
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.onStop = (reason) => {
        void response?.body?.cancel().catch(() => {});
        reject(reason);
      };
      promise.then(
        (value) => {
          this.onStop = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.onStop = undefined;
          reject(error);
        },
      );
    });
  }

  /** The typed error for a failure, saying "aborted" or "timed out" when a signal caused it. */
  explain(error: unknown, path: string): unknown {
    if (this.callerSignal?.aborted) {
      return error instanceof AbortedError
        ? error
        : new AbortedError(`${path} was aborted`, { path, cause: this.callerSignal.reason });
    }
    if (this.timedOutFlag) {
      return error instanceof TimeoutError
        ? error
        : new TimeoutError(`${path} did not finish within ${this.ms} ms`, { path, cause: error });
    }
    if (error instanceof EtcdError) return error;
    if (isAbort(error)) return new AbortedError(`${path} was aborted`, { path, cause: error });
    return error;
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onCallerAbort !== undefined) this.callerSignal!.removeEventListener('abort', this.onCallerAbort);
  }

  private stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const onStop = this.onStop;
    this.onStop = undefined;
    onStop?.(reason);
  }
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (cancelling `response`'s body). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, response?: Response): Promise<T> {
  if (signal.aborted) {
    void response?.body?.cancel().catch(() => {});
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      void response?.body?.cancel().catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function isAbort(error: unknown): boolean {
  return (error as { name?: unknown })?.name === 'AbortError' || (error as { name?: unknown })?.name === 'TimeoutError';
}
