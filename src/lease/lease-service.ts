import type { CallOptions } from '../core/call-options.ts';
import type { Core } from '../core/client-core.ts';
import type { LeaseRef } from '../core/lease-ref.ts';
import {
  type GrantOptions,
  grant,
  keepAliveOnce,
  keptLeases,
  type Lease,
  type LeaseTimeToLive,
  leases,
  revoke,
  timeToLive,
} from './lease.ts';

/**
 * The lease functions bound to one client: `etcd.lease`.
 *
 * @example
 * ```ts
 * const lease = await etcd.lease.grant(10);
 * console.log(await etcd.lease.list(), etcd.lease.kept());
 * ```
 */
export class LeaseService {
  readonly #core: Core;

  constructor(core: Core) {
    this.#core = core;
  }

  /** Grants a lease of `ttl` seconds, kept alive until revoked unless `keepAlive: false`. */
  grant(ttl: number, options?: GrantOptions): Promise<Lease> {
    return grant(this.#core, ttl, options);
  }

  /** Revokes a lease: its keys are deleted. A lease that does not exist gives `NotFoundError`. */
  revoke(lease: LeaseRef, options?: CallOptions): Promise<void> {
    return revoke(this.#core, lease, options);
  }

  /** Seconds left of a lease and, with `keys: true`, the keys attached to it. */
  timeToLive(lease: LeaseRef, options?: { keys?: boolean } & CallOptions): Promise<LeaseTimeToLive> {
    return timeToLive(this.#core, lease, options);
  }

  /** IDs of every lease etcd holds (all clients'). */
  list(options?: CallOptions): Promise<string[]> {
    return leases(this.#core, options);
  }

  /** Refreshes a lease once; returns its TTL, or throws `LeaseLostError` when it is gone. */
  keepAliveOnce(lease: LeaseRef, options?: CallOptions): Promise<number> {
    return keepAliveOnce(this.#core, lease, options);
  }

  /** The leases this client keeps alive. */
  kept(): Lease[] {
    return keptLeases(this.#core);
  }
}
