import type { AsyncDisposableLike } from '../core/disposable.ts';
import type { Core } from '../core/client-core.ts';
import { grant } from '../lease/lease.ts';
import type { Lease } from '../lease/lease.ts';
import type { CallOptions } from '../core/call-options.ts';

/**
 * Options of a session: its lease's TTL, or a lease of your own.
 *
 * @example
 * ```ts
 * await using session = await etcd.session({ ttl: 10 });
 * ```
 */
export interface SessionOptions extends CallOptions {
  /** TTL of the session's lease in seconds (60): how long locks outlive a vanished holder. */
  ttl?: number;
  /** Use this lease instead of granting one; the session then does not revoke it on close. */
  lease?: Lease;
}

/**
 * One lease kept alive for the locks and elections that use it (Go's `concurrency.Session`).
 * When the lease is lost, etcd deletes their keys: every lock and leadership held with it ends,
 * and `lost` says so.
 *
 * @example
 * ```ts
 * await using session = await etcd.session({ ttl: 10 });
 * await using held = await etcd.lock('jobs/nightly', { session });
 * session.lost.addEventListener('abort', () => console.log('the lock is gone'));
 * ```
 */
export class Session implements AsyncDisposableLike {
  readonly lease: Lease;
  readonly #owned: boolean;

  private constructor(lease: Lease, owned: boolean) {
    this.lease = lease;
    this.#owned = owned;
  }

  /** A session over `core`: `options.lease`, or a lease of `ttl` seconds (60) granted for it. Prefer `session(core)`. */
  static async create(core: Core, options: SessionOptions = {}): Promise<Session> {
    if (options.lease) return new Session(options.lease, false);
    return new Session(await grant(core, options.ttl ?? 60, options), true);
  }

  /** Aborts when the session's lease is lost (its reason is the `LeaseLostError`). */
  get lost(): AbortSignal {
    return this.lease.lost;
  }

  /** The lease ID in hex: the suffix of every lock and election key of this session. */
  get suffix(): string {
    return BigInt(this.lease.id).toString(16);
  }

  /** Ends the session, revoking its lease (which releases every lock and leadership it held). */
  async close(): Promise<void> {
    if (this.#owned) await this.lease[Symbol.asyncDispose]();
  }

  /** `await using session = ...`: closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A session over a client core: one lease kept alive for the locks and elections given it.
 *
 * @example
 * ```ts
 * await using s = await session(core, { ttl: 15 });
 * await using held = await lock(core, 'jobs', { session: s });
 * ```
 */
export function session(core: Core, options?: SessionOptions): Promise<Session> {
  return Session.create(core, options);
}
