import { describe } from './codec.ts';
import { AbortedError, EtcdError, InvalidArgumentError, TimeoutError } from './errors.ts';
import { setTimer } from './timers.ts';

/** A call's deadline joined with the caller's signal, and the error that explains which fired. */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly controller = new AbortController();
  private timedOutFlag = false;
  readonly ms: number;
  private readonly callerSignal: AbortSignal | undefined;

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
      this.controller.abort(new DOMException('deadline exceeded', 'TimeoutError'));
    }, ms);
    this.signal = callerSignal ? AbortSignal.any([callerSignal, this.controller.signal]) : this.controller.signal;
  }

  /** True once the deadline (not the caller) ended the call. */
  get timedOut(): boolean {
    return this.timedOutFlag;
  }

  /** The typed error for a failure, saying "aborted" or "timed out" when a signal caused it. */
  explain(error: unknown, path: string): unknown {
    if (this.callerSignal?.aborted) {
      return error instanceof AbortedError ? error : new AbortedError(`${path} was aborted`, { path, cause: this.callerSignal.reason });
    }
    if (this.timedOutFlag) {
      return error instanceof TimeoutError ? error : new TimeoutError(`${path} did not finish within ${this.ms} ms`, { path, cause: error });
    }
    if (error instanceof EtcdError) return error;
    if (isAbort(error)) return new AbortedError(`${path} was aborted`, { path, cause: error });
    return error;
  }

  dispose(): void {
    clearTimeout(this.timer);
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

