import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import type { AsyncDisposableLike } from '../core/disposable.ts';
import type { Lease } from '../lease/lease.ts';
import { grant } from '../lease/lease.ts';

/**
 * Options of a session: its lease's TTL, or a lease of your own.
 *
 * The TTL is 60 seconds by default, as in Go's `concurrency` package. It is the trade-off between
 * failover and false loss: a holder that crashes (or is cut off) keeps its locks and leadership
 * until its lease expires, so the next in line waits up to the TTL; a live holder whose keep-alives
 * do not get through for a whole TTL (a slow or broken network) loses them. Choose a smaller TTL
 * (at least a few seconds, well above your network's worst pauses) for faster failover.
 *
 * @example
 * ```ts
 * await using worker = await session(etcd, { ttl: 10 }); // a crashed holder's locks free up within 10 s
 * ```
 */
export interface SessionOptions extends CallOptions {
  /**
   * TTL of the session's lease in seconds; 60 by default. How long the locks and leadership of a
   * crashed holder stay taken; also how long keep-alives may fail before a live holder loses them.
   */
  ttl?: number;
  /** Use this lease instead of granting one; the session then does not revoke it on close. */
  lease?: Lease;
}

/**
 * One lease kept alive for the locks and elections that use it (Go's `concurrency.Session`).
 * When the lease is lost, etcd deletes their keys: every lock and leadership held with it ends,
 * and `lost` says so. A deliberate `close()` ends them too, but fires no `lost`.
 *
 * @example
 * ```ts
 * await using worker = await session(etcd, { ttl: 10 });
 * await using held = await lock(etcd, 'jobs/nightly', { session: worker });
 * worker.lost.addEventListener('abort', () => console.log('the lock is gone'));
 * ```
 */
export class Session implements AsyncDisposableLike {
  readonly lease: Lease;
  readonly #owned: boolean;
  readonly #lost = new AbortController();
  /** Aborts on `close()` or loss: what holds a place with this session stops watching then. */
  readonly #ended = new AbortController();

  private constructor(lease: Lease, owned: boolean) {
    this.lease = lease;
    this.#owned = owned;
    endings().set(this, this.#ended.signal);
    const leaseLost = lease.lost;
    const onLost = () => {
      if (this.#ended.signal.aborted) return;
      this.#ended.abort(leaseLost.reason);
      this.#lost.abort(leaseLost.reason);
    };
    if (leaseLost.aborted) onLost();
    else leaseLost.addEventListener('abort', onLost, { once: true });
  }

  /** A session over `core`: `options.lease`, or a lease of `ttl` seconds (60 by default) granted for it. Prefer `session(core)`. */
  static async create(core: Core, options: SessionOptions = {}): Promise<Session> {
    if (options.lease) return new Session(options.lease, false);
    return new Session(await grant(core, options.ttl ?? 60, options), true);
  }

  /**
   * Aborts when the session's lease is lost without `close()` being called: it expired, or someone
   * revoked it (its reason is the `LeaseLostError`). A deliberate `close()` never fires it.
   */
  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /** The lease ID in hex: the suffix of every lock and election key of this session. */
  get suffix(): string {
    return BigInt(this.lease.id).toString(16);
  }

  /**
   * Ends the session, revoking its lease (which releases every lock and leadership it held); fires
   * no `lost`, neither its own nor theirs. A session over a lease given in `options.lease` leaves
   * that lease (and what is held with it) alone: its `lost` still follows the lease.
   */
  async close(): Promise<void> {
    if (!this.#owned) return;
    if (!this.#ended.signal.aborted) this.#ended.abort(new Error('the session was closed'));
    await this.lease[Symbol.asyncDispose]();
  }

  /** `await using session = ...`: closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

let sessionEndings: WeakMap<Session, AbortSignal> | undefined;

/** Made on first use: nothing is created at module load. */
function endings(): WeakMap<Session, AbortSignal> {
  return (sessionEndings ??= new WeakMap());
}

/** Aborts when `session` was closed or lost: its keys are gone, and no one need watch them. */
export function sessionEnded(session: Session): AbortSignal {
  return endings().get(session)!;
}

/**
 * A session over a client core: one lease kept alive for the locks and elections given it
 * (TTL 60 s by default: see `SessionOptions`).
 *
 * @example
 * ```ts
 * await using s = await session(core, { ttl: 15 });
 * await using held = await lock(core, 'jobs', { session: s });
 * ```
 */
export function session(client: Client, options?: SessionOptions): Promise<Session> {
  const core = coreOf(client);
  return Session.create(core, options);
}
