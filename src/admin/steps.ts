// One deadline for a call made of several requests: resolving a member through the member list
// and then asking it, listing the members and then asking each, opening a snapshot and then
// waiting for its first chunk. Each step gets what is left of the call's deadline, so the whole
// settles within the caller's timeout (not one timeout per step).
import type { CallOptions } from '../core/call-options.ts';
import { describe } from '../core/codec.ts';
import { InvalidArgumentError, TimeoutError } from '../core/errors.ts';
import type { Transport } from '../core/transport.ts';

/**
 * The steps of one composite call and the deadline they share.
 *
 * @example
 * const steps = new Steps(core.transport, options, 'status of a member');
 * try {
 *   const endpoint = await memberEndpoint(core, member, steps.next());
 *   return await core.transport.request('/maintenance/status', {}, { ...steps.next(), endpoint });
 * } catch (error) {
 *   throw steps.explain(error);
 * }
 */
export class Steps {
  /** The call's deadline in milliseconds (its `timeout`, else the client's). */
  readonly ms: number;
  readonly #options: CallOptions;
  readonly #what: string;
  readonly #started = performance.now();

  /** `transport` gives the default deadline (the client's `timeout`); `what` names the call in its `TimeoutError`. */
  constructor(transport: Pick<Transport, 'timeout'>, options: CallOptions, what: string) {
    const ms = options.timeout ?? transport.timeout;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      throw new InvalidArgumentError(`timeout must be a positive number of milliseconds, got ${describe(ms)}`);
    }
    this.ms = ms;
    this.#options = options;
    this.#what = what;
  }

  /** Milliseconds left (0 once the deadline has passed). */
  left(): number {
    return Math.max(0, this.ms - (performance.now() - this.#started));
  }

  /** The options of the next step: the caller's, with the time left as its timeout. Throws `TimeoutError` when none is left. */
  next(): CallOptions {
    const left = Math.ceil(this.left());
    if (left <= 0) throw this.timedOut();
    return { ...this.#options, timeout: left };
  }

  /** A step's failure as the call's: a step that ran out of time means the call did. */
  explain(error: unknown): unknown {
    if (!(error instanceof TimeoutError) || error.message === this.#message()) return error;
    return this.timedOut(error);
  }

  /** The call's `TimeoutError` (`cause`: the step's own, when one timed out). */
  timedOut(cause?: TimeoutError): TimeoutError {
    return new TimeoutError(this.#message(), { path: cause?.path, endpoint: cause?.endpoint, cause });
  }

  #message(): string {
    return `${this.#what} did not finish within ${this.ms} ms`;
  }
}
