/**
 * etcd-fetch: the `Etcd` class (KV, txn, watch and leases, as Go's `clientv3.Client`) and
 * everything etcd-fetch/kv, /lease and /watch export. Locks, elections and STM are in
 * etcd-fetch/concurrency, cluster, maintenance and auth in etcd-fetch/admin, the relay in
 * etcd-fetch/relay: a page that does not import them does not carry them.
 * @module etcd-fetch
 */
import type { CallOptions } from './core/call-options.ts';
import { type ClientOptions, type Core, createCore, namespaceCore } from './core/client-core.ts';
import type { Bytes } from './core/codec.ts';
import type { AsyncDisposableLike } from './core/disposable.ts';
import type { KeyValue } from './core/key-value.ts';
import type { KeySelector } from './core/keyspace.ts';
import type { LeaseRef } from './core/lease-ref.ts';
import type { Transport } from './core/transport.ts';
import {
  type CompactOptions,
  compact,
  count,
  type DeleteOptions,
  type DeleteResult,
  del,
  type GetOptions,
  get,
  type PutOptions,
  type PutResult,
  put,
  type RangeOptions,
  type RangeResult,
  type ReadOptions,
  range,
  type ScanOptions,
  scan,
} from './kv/kv.ts';
import { type Txn, txn } from './kv/txn.ts';
import {
  type GrantOptions,
  grant,
  keepAliveOnce,
  type Lease,
  type LeaseTimeToLive,
  leases,
  revoke,
  timeToLive,
} from './lease/lease.ts';
import { type Watch, type WatchOptions, watch } from './watch/watch.ts';

/**
 * Options of `new Etcd(options)`: the client options, or a core to wrap.
 *
 * @example
 * ```ts
 * const etcd = new Etcd({ endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], timeout: 5_000 });
 * ```
 */
export interface EtcdOptions extends ClientOptions {
  /** Use this core (from `createCore` or `namespaceCore`) instead of making one from the options. */
  core?: Core;
}

/**
 * An etcd v3 client over the HTTP/JSON gateway.
 *
 * @example
 * ```ts
 * await using etcd = new Etcd({ endpoints: ['http://127.0.0.1:2379'] });
 * await etcd.put('greeting', 'hello');
 * console.log((await etcd.get('greeting'))?.valueText); // 'hello'
 * ```
 */
export class Etcd implements AsyncDisposableLike {
  /** What every function of etcd-fetch needs of this client: transport, keyspace, batching, close signal. */
  readonly core: Core;

  constructor(options: EtcdOptions = {}) {
    this.core = (options as EtcdOptions | null)?.core ?? createCore(options);
  }

  /** The transport: endpoints in use, and raw gateway calls (`transport.request('/kv/range', ...)`). */
  get transport(): Transport {
    return this.core.transport;
  }

  /**
   * A client whose keys (KV, txn, lease-bound keys, lock and election names) live under
   * `prefix`, shown without it. It shares this client's connections, token and keep-alive loop.
   */
  namespace(prefix: Bytes): Etcd {
    return new Etcd({ core: namespaceCore(this.core, prefix) });
  }

  /** One key's key-value, or undefined when it does not exist: `(await etcd.get('k'))?.valueText`. */
  get(key: Bytes, options?: GetOptions & CallOptions): Promise<KeyValue | undefined> {
    return get(this.core, key, options);
  }

  /** Keys by key, prefix or range, with limit, sort, revision and filters: `etcd.range({ prefix }, { limit })`. */
  range(selector: KeySelector, options?: RangeOptions & CallOptions): Promise<RangeResult> {
    return range(this.core, selector, options);
  }

  /** How many keys a selector matches: `await etcd.count({ prefix: 'users/' })`. */
  count(selector: KeySelector, options?: ReadOptions & CallOptions): Promise<number> {
    return count(this.core, selector, options);
  }

  /** Every key a selector matches, read in pages at one revision: `for await (const kv of etcd.scan({ prefix }))`. */
  scan(selector: KeySelector, options?: ScanOptions & CallOptions): AsyncGenerator<KeyValue, void, undefined> {
    return scan(this.core, selector, options);
  }

  /** Writes one key: `await etcd.put('config/color', 'blue', { lease })`. */
  put(key: Bytes, value: Bytes | undefined, options?: PutOptions & CallOptions): Promise<PutResult> {
    return put(this.core, key, value, options);
  }

  /** Deletes one key, or every key a selector matches: `await etcd.del({ prefix: 'tmp/' })`. */
  del(target: Bytes | KeySelector, options?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    return del(this.core, target, options);
  }

  /** Discards history before `revision`; reads and watches at older revisions then fail. */
  compact(revision: number, options?: CompactOptions): Promise<{ revision: number }> {
    return compact(this.core, revision, options);
  }

  /** A transaction: `etcd.txn().if(cmp...).then(op...).else(op...).commit()`. */
  txn(): Txn<[], []> {
    return txn(this.core);
  }

  /**
   * Watches a key, prefix or range: `for await (const event of etcd.watch({ prefix }))`.
   * All watchers of this client share one connection (one per watch in an edge worker).
   */
  watch(options: WatchOptions): Watch {
    return watch(this.core, options);
  }

  /** Grants a lease of `ttl` seconds, kept alive until revoked or lost. */
  grant(ttl: number, options?: GrantOptions): Promise<Lease> {
    return grant(this.core, ttl, options);
  }

  /** Revokes a lease (a `Lease` or its ID): its keys are deleted. */
  revoke(lease: LeaseRef, options?: CallOptions): Promise<void> {
    return revoke(this.core, lease, options);
  }

  /** A lease's granted and remaining TTL, and its keys with `{ keys: true }`. */
  timeToLive(lease: LeaseRef, options?: { keys?: boolean } & CallOptions): Promise<LeaseTimeToLive> {
    return timeToLive(this.core, lease, options);
  }

  /** IDs of every lease etcd holds. */
  leases(options?: CallOptions): Promise<string[]> {
    return leases(this.core, options);
  }

  /** Renews a lease once (not kept alive by this client), resolving to its new TTL in seconds. */
  keepAliveOnce(lease: LeaseRef, options?: CallOptions): Promise<number> {
    return keepAliveOnce(this.core, lease, options);
  }

  /**
   * Closes the client and every namespace of it: watches end with `AbortedError`, leases are no
   * longer kept alive (their `lost` fires; etcd expires them after their TTL), later calls are
   * refused. `await using etcd = new Etcd(...)` closes it at the end of the scope.
   */
  close(): void {
    this.core.close();
  }

  /** `await using etcd = new Etcd()`: closes the client at the end of the scope (see `close`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

export * from './kv/index.ts';
export * from './lease/index.ts';
export * from './watch/index.ts';
