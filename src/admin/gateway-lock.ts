import type { CallOptions } from '../core/call-options.ts';
import type { Core } from '../core/client-core.ts';
import { type Bytes, decodeBytes, encodeBase64 } from '../core/codec.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';
import type { Keyspace } from '../core/keyspace.ts';
import { type LeaseRef, leaseId } from '../core/lease-ref.ts';
import type { Transport } from '../core/transport.ts';

/** Waiting for a lock has no deadline unless the caller sets one. */
export const NO_DEADLINE = 2_147_483_647;

/**
 * Options of `etcd.lockService.lock`: the lease that holds the lock, a deadline and a signal.
 *
 * @example
 * ```ts
 * const held = await etcd.lockService.lock('jobs', { lease: await etcd.grant(30), timeout: 60_000 });
 * ```
 */
export interface GatewayLockOptions extends CallOptions {
  /** The lease that holds the lock: when it ends, the lock is released. */
  lease: LeaseRef;
}

/**
 * A lock etcd's lock service granted: its key (to unlock with) and revision.
 *
 * @example
 * ```ts
 * const { key, revision } = await etcd.lockService.lock('jobs', { lease });
 * await etcd.lockService.unlock(key);
 * ```
 */
export interface HeldLock {
  /** The key that holds the lock (`name/<lease in hex>`): pass it to `unlock`. */
  key: Uint8Array;
  /** The revision the lock was taken at. */
  revision: number;
  header: ResponseHeader;
}

/**
 * etcd's own lock service, `/v3/lock/lock` and `/v3/lock/unlock`: thin calls, no queue of
 * our own. `lock` blocks in etcd until the lock is free (no deadline unless `timeout` is set);
 * aborting it makes etcd give up the wait. For a lock that tells its holder when its session
 * is lost, use `etcd.lock(name)`.
 *
 * @example
 * ```ts
 * const lease = await etcd.grant(30);
 * const held = await etcd.lockService.lock('jobs', { lease });
 * try {
 *   await runNightlyJob();
 * } finally {
 *   await etcd.lockService.unlock(held.key);
 * }
 * ```
 */
export class GatewayLock {
  private readonly transport: Transport;
  private readonly keyspace: Keyspace;

  constructor(core: Core) {
    this.transport = core.transport;
    this.keyspace = core.keyspace;
  }

  /** Waits in etcd until the lock `name` is free, then holds it with `options.lease`. */
  async lock(name: Bytes, options: GatewayLockOptions): Promise<HeldLock> {
    const request = { name: encodeBase64(this.keyspace.key(name)), lease: leaseId(options?.lease) };
    const wire = await this.transport.request('/lock/lock', request, {
      ...options,
      timeout: options.timeout ?? NO_DEADLINE,
    });
    const header = decodeHeader(wire.header);
    return { key: this.keyspace.strip(decodeBytes(wire.key)), revision: header.revision, header };
  }

  /** Releases a lock by the key `lock` returned. */
  async unlock(key: Bytes, options: CallOptions = {}): Promise<void> {
    await this.transport.request('/lock/unlock', { key: encodeBase64(this.keyspace.key(key)) }, options);
  }
}
