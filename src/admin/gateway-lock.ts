import type { CallOptions } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { type Bytes, decodeBytes, encodeBase64 } from '../core/codec.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';
import { type LeaseRef, leaseId } from '../core/lease-ref.ts';

/** Waiting for a lock has no deadline unless the caller sets one. */
export const NO_DEADLINE = 2_147_483_647;

/**
 * Options of `gatewayLock`: the lease that holds the lock, a deadline and a signal.
 *
 * @example
 * ```ts
 * const held = await gatewayLock(etcd, 'jobs', { lease: await grant(etcd, 30), timeout: 60_000 });
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
 * const { key, revision } = await gatewayLock(etcd, 'jobs', { lease });
 * await gatewayUnlock(etcd, key);
 * ```
 */
export interface GatewayLockKey {
  /** The key that holds the lock (`name/<lease in hex>`): pass it to `gatewayUnlock`. */
  key: Uint8Array;
  /** The revision the lock was taken at. */
  revision: number;
  header: ResponseHeader;
}

/**
 * Waits in etcd's own lock service (`/v3/lock/lock`) until the lock `name` is free, then holds
 * it with `options.lease`: a thin call, no queue of our own. It blocks in etcd until the lock is
 * free (no deadline unless `timeout` is set); aborting it makes etcd give up the wait. For a
 * lock that tells its holder when its session is lost, use `lock(etcd, name)`.
 *
 * @example
 * ```ts
 * const lease = await grant(etcd, 30);
 * const held = await gatewayLock(etcd, 'jobs', { lease });
 * try {
 *   await runNightlyJob();
 * } finally {
 *   await gatewayUnlock(etcd, held.key);
 * }
 * ```
 */
export async function gatewayLock(client: Client, name: Bytes, options: GatewayLockOptions): Promise<GatewayLockKey> {
  const { transport, keyspace } = coreOf(client);
  const request = { name: encodeBase64(keyspace.key(name)), lease: leaseId(options?.lease) };
  const wire = await transport.request('/lock/lock', request, {
    ...options,
    timeout: options.timeout ?? NO_DEADLINE,
  });
  const header = decodeHeader(wire.header);
  return { key: keyspace.strip(decodeBytes(wire.key)), revision: header.revision, header };
}

/**
 * Releases a lock of etcd's lock service (`/v3/lock/unlock`) by the key `gatewayLock` returned.
 *
 * @example
 * ```ts
 * await gatewayUnlock(etcd, held.key);
 * ```
 */
export async function gatewayUnlock(client: Client, key: Bytes, options: CallOptions = {}): Promise<void> {
  const { transport, keyspace } = coreOf(client);
  await transport.request('/lock/unlock', { key: encodeBase64(keyspace.key(key)) }, options);
}
