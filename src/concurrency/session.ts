import type { AsyncDisposableLike } from '../core/disposable.ts';
import type { Core } from '../core/client-core.ts';
import { grant } from '../lease/lease.ts';
import type { Lease } from '../lease/lease.ts';
import type { CallOptions } from '../core/call-options.ts';

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
 */
export class Session implements AsyncDisposableLike {
  readonly lease: Lease;
  readonly #owned: boolean;

  private constructor(lease: Lease, owned: boolean) {
    this.lease = lease;
    this.#owned = owned;
  }

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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A session over a client core: one lease kept alive for the locks and elections given it. */
export function session(core: Core, options?: SessionOptions): Promise<Session> {
  return Session.create(core, options);
}
