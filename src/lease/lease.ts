import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import { checkCount, decodeArray, decodeBytes, decodeId, decodeInt, encodeId } from '../core/codec.ts';
import type { AsyncDisposableLike } from '../core/disposable.ts';
import { EtcdError, InvalidArgumentError, LeaseLostError, NotFoundError } from '../core/errors.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';
import { type LeaseRef, leaseId } from '../core/lease-ref.ts';
import { keepAlive } from './keep-alive.ts';
import { keeperOf, now } from './keep-alive-loop.ts';

export type { LeaseRef } from '../core/lease-ref.ts';

/**
 * Options of `grant`: a chosen ID, and whether the client keeps the lease alive.
 *
 * @example
 * ```ts
 * const lease = await etcd.grant(30, { keepAlive: false }); // expires after 30 s unless refreshed
 * ```
 */
export interface GrantOptions extends CallOptions {
  /** Ask for this ID instead of letting etcd choose one (etcd refuses an ID in use). */
  id?: string | number | bigint;
  /** Refresh the lease automatically until it is revoked or lost (default true). */
  keepAlive?: boolean;
}

/**
 * What etcd says of a lease: seconds left, granted TTL, and its keys when asked for.
 *
 * @example
 * ```ts
 * const { ttl, keys } = await lease.timeToLive({ keys: true });
 * ```
 */
export interface LeaseTimeToLive {
  id: string;
  /** Seconds left; -1 when the lease no longer exists. */
  ttl: number;
  /** The TTL the lease was granted with, in seconds (0 when it no longer exists). */
  grantedTtl: number;
  /** Keys attached to the lease (asked with `keys: true`), as the client sees them. */
  keys: Uint8Array[];
  header: ResponseHeader;
}

/**
 * A granted lease. While kept alive, one loop per client refreshes it (with every other
 * lease of the client, in one request) at about a third of its TTL. `lost` aborts, with a
 * `LeaseLostError` as its reason, as soon as the lease is revoked, etcd says it is gone, or no
 * refresh succeeded for a whole TTL: always before etcd itself can have expired it.
 *
 * @example
 * ```ts
 * await using lease = await etcd.grant(10);
 * await etcd.put('service/a', 'up', { lease });
 * lease.lost.addEventListener('abort', () => console.log('service/a is gone'));
 * ```
 */
export class Lease implements AsyncDisposableLike {
  /** The lease ID: a decimal string, since lease IDs use all 64 bits. */
  readonly id: string;
  /** The TTL etcd granted, in seconds. */
  readonly ttl: number;
  /** Aborts when the lease is lost; `lost.reason` is the `LeaseLostError`. */
  readonly lost: AbortSignal;
  readonly #lost = new AbortController();
  readonly #core: Core;

  constructor(core: Core, id: string, ttl: number) {
    this.#core = core;
    this.id = id;
    this.ttl = ttl;
    this.lost = this.#lost.signal;
  }

  /** True once `lost` has fired. */
  get isLost(): boolean {
    return this.lost.aborted;
  }

  /** Seconds left and, with `keys: true`, the keys attached to this lease. */
  timeToLive(options: { keys?: boolean } & CallOptions = {}): Promise<LeaseTimeToLive> {
    return timeToLive(this.#core, this.id, options);
  }

  /** Refreshes the lease once, now; returns the TTL etcd restarted it with. */
  keepAliveOnce(options: CallOptions = {}): Promise<number> {
    return keepAliveOnce(this.#core, this.id, options);
  }

  /** Stops refreshing the lease without revoking it: it expires after its TTL. */
  stopKeepAlive(): void {
    keeperOf(this.#core).remove(this.id);
  }

  /** Revokes the lease (deleting its keys) and stops its keep-alive; `lost` fires. */
  async revoke(options: CallOptions = {}): Promise<void> {
    this.stopKeepAlive();
    try {
      await revoke(this.#core, this.id, options);
    } finally {
      this.markLost(`lease ${this.id} was revoked`);
    }
  }

  /** `await using lease = await etcd.grant(10)`: revokes the lease at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.isLost) return;
    try {
      await this.revoke();
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  /** @internal Fires `lost` (once). */
  markLost(message: string, cause?: unknown): void {
    if (this.lost.aborted) return;
    keeperOf(this.#core).remove(this.id);
    this.#lost.abort(new LeaseLostError(message, this.id, cause === undefined ? {} : { cause }));
  }

  /** ID, TTL and whether it is lost, for `JSON.stringify` and logs. */
  toJSON(): object {
    return { id: this.id, ttl: this.ttl, lost: this.isLost };
  }
}

/**
 * Grants a lease of `ttl` seconds, kept alive until revoked unless `keepAlive: false`.
 *
 * @example
 * ```ts
 * const lease = await grant(core, 10);
 * await put(core, 'worker/1', 'alive', { lease });
 * ```
 */
export async function grant(client: Client, ttl: number, options: GrantOptions = {}): Promise<Lease> {
  const core = coreOf(client);
  checkCount(ttl, 'ttl');
  if (ttl < 1) throw new InvalidArgumentError('ttl must be at least 1 second');
  const request: Record<string, string> = { TTL: String(ttl) };
  if (options.id !== undefined) request.ID = encodeId(options.id, 'lease id');
  const sentAt = now();
  const wire = await core.transport.request('/lease/grant', request, options);
  if (typeof wire.error === 'string' && wire.error !== '') throw new EtcdError(wire.error, { path: '/v3/lease/grant' });
  const lease = new Lease(core, decodeId(wire.ID, 'ID'), decodeInt(wire.TTL, 'TTL'));
  if (options.keepAlive !== false) keeperOf(core).add(lease, sentAt);
  return lease;
}

/**
 * Revokes a lease: its keys are deleted. A lease that does not exist gives `NotFoundError`.
 *
 * @example
 * ```ts
 * await revoke(core, lease); // or its ID: revoke(core, '7587862319498417163')
 * ```
 */
export async function revoke(client: Client, lease: LeaseRef, options: CallOptions = {}): Promise<void> {
  const core = coreOf(client);
  const id = leaseId(lease);
  keeperOf(core).lost(id, `lease ${id} was revoked`);
  await core.transport.request('/lease/revoke', { ID: id }, options);
}

/**
 * Seconds left of a lease and, with `keys: true`, the keys attached to it (as this client sees them).
 *
 * @example
 * ```ts
 * const { ttl, grantedTtl } = await timeToLive(core, lease);
 * ```
 */
export async function timeToLive(
  client: Client,
  lease: LeaseRef,
  options: { keys?: boolean } & CallOptions = {},
): Promise<LeaseTimeToLive> {
  const core = coreOf(client);
  const id = leaseId(lease);
  const wire = await core.transport.request(
    '/lease/timetolive',
    { ID: id, keys: options.keys === true },
    { ...options, idempotent: true },
  );
  const { keyspace } = core;
  return {
    id: decodeId(wire.ID, 'ID'),
    ttl: decodeInt(wire.TTL, 'TTL'),
    grantedTtl: decodeInt(wire.grantedTTL, 'grantedTTL'),
    keys: decodeArray(wire.keys, 'keys')
      .map(decodeBytes)
      .filter((key) => startsWith(key, keyspace.prefix))
      .map((key) => keyspace.strip(key)),
    header: decodeHeader(wire.header),
  };
}

/**
 * IDs of every lease etcd holds (all clients').
 *
 * @example
 * ```ts
 * const ids = await leases(core);
 * ```
 */
export async function leases(client: Client, options: CallOptions = {}): Promise<string[]> {
  const core = coreOf(client);
  const wire = await core.transport.request('/lease/leases', {}, { ...options, idempotent: true });
  return decodeArray(wire.leases, 'leases').map((l) => decodeId((l as { ID?: unknown })?.ID, 'ID'));
}

/**
 * Refreshes a lease once; returns its TTL, or throws `LeaseLostError` when it is gone.
 *
 * @example
 * ```ts
 * const ttl = await keepAliveOnce(core, lease.id);
 * ```
 */
export async function keepAliveOnce(client: Client, lease: LeaseRef, options: CallOptions = {}): Promise<number> {
  const core = coreOf(client);
  const id = leaseId(lease);
  const [ttl] = await keepAlive(core.transport, [id], options);
  if (ttl === undefined || ttl <= 0) throw new LeaseLostError(`lease ${id} does not exist (expired or revoked)`, id);
  return ttl;
}

/**
 * The leases this client keeps alive.
 *
 * @example
 * ```ts
 * console.log(keptLeases(core).map((lease) => lease.id));
 * ```
 */
export function keptLeases(client: Client): Lease[] {
  const core = coreOf(client);
  return keeperOf(core).leases() as Lease[];
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
