/**
 * etcd-fetch: the `Etcd` class, a convenient facade over the client core and the functions of
 * etcd-fetch/kv, /lease, /watch, /concurrency, /admin and /relay, and everything they export.
 * @module etcd-fetch
 */

import { type Election, election } from './concurrency/election.ts';
import { type Lock, type LockOptions, lock, tryLock } from './concurrency/lock.ts';
import { type Session, type SessionOptions, session } from './concurrency/session.ts';
import { type StmCommit, type StmOptions, type StmTx, stm } from './concurrency/stm.ts';
import type { CallOptions } from './core/call-options.ts';
import { type ClientOptions, type Core, createCore, namespaceCore } from './core/client-core.ts';
import type { Bytes } from './core/codec.ts';
import type { AsyncDisposableLike } from './core/disposable.ts';
import { type EnvSource, optionsFromEnv } from './core/env-options.ts';
import type { KeyValue } from './core/key-value.ts';
import type { KeySelector } from './core/keyspace.ts';
import type { Transport } from './core/transport.ts';
import {
  type CompactOptions,
  compact,
  count,
  type DeleteOptions,
  type DeleteResult,
  del,
  get,
  type PutOptions,
  type PutResult,
  put,
  type RangeQuery,
  type RangeResult,
  type ReadOptions,
  range,
  type ScanQuery,
  scan,
} from './kv/kv.ts';
import { type Txn, txn } from './kv/txn.ts';
import { type GrantOptions, grant, type Lease, leases } from './lease/lease.ts';
import { LeaseService } from './lease/lease-service.ts';
import { type ReflectOptions, type Reflector, reflect } from './watch/reflector.ts';
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
  /** What every service of this client shares: transport, keyspace, batching, close signal. */
  readonly core: Core;
  /** Leases: grant, revoke, time to live, list; one keep-alive loop per client. */
  readonly lease: LeaseService;

  constructor(options: EtcdOptions = {}) {
    const core = (options as EtcdOptions | null)?.core ?? createCore(options);
    this.core = core;
    this.lease = new LeaseService(core);
  }

  /**
   * A client configured from environment variables: `ETCD_ENDPOINTS` (comma-separated), and
   * `ETCD_USERNAME` with `ETCD_PASSWORD`, or `ETCD_TOKEN`. Reads `process.env` or `Deno.env` unless
   * given `env` (a Cloudflare worker's `env`, any record or `{ get(name) }`); `options` adds the rest.
   * Throws `InvalidArgumentError` naming a missing variable.
   *
   * @example
   * ```ts
   * const etcd = Etcd.fromEnv(); // ETCD_ENDPOINTS=http://127.0.0.1:2379
   * // in a worker: export default { fetch: (request, env) => Etcd.fromEnv(env).get('k') ... }
   * ```
   */
  static fromEnv(env?: EnvSource, options: Omit<EtcdOptions, 'endpoints' | 'auth' | 'core'> = {}): Etcd {
    return new Etcd({ ...options, ...optionsFromEnv(env) });
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

  /** Grants a lease of `ttl` seconds, kept alive until revoked or lost: `etcd.lease.grant`. */
  grant(ttl: number, options?: GrantOptions): Promise<Lease> {
    return grant(this.core, ttl, options);
  }

  /** IDs of every lease etcd holds: `etcd.lease.list`. */
  leases(options?: CallOptions): Promise<string[]> {
    return leases(this.core, options);
  }

  /** One key's key-value, or undefined when it does not exist. */
  get(key: Bytes, options?: ReadOptions & { keysOnly?: boolean } & CallOptions): Promise<KeyValue | undefined> {
    return get(this.core, key, options);
  }

  /** Keys by key, prefix or range, with limit, sort, revision and filters. */
  range(query: RangeQuery, options?: CallOptions): Promise<RangeResult> {
    return range(this.core, query, options);
  }

  /** How many keys a selector matches: `await etcd.count({ prefix: 'users/' })`. */
  count(selector: KeySelector, options?: ReadOptions & CallOptions): Promise<number> {
    return count(this.core, selector, options);
  }

  /** Writes one key: `await etcd.put('config/color', 'blue', { lease })`. */
  put(key: Bytes, value: Bytes | undefined, options?: PutOptions & CallOptions): Promise<PutResult> {
    return put(this.core, key, value, options);
  }

  /** Deletes one key, or every key a selector matches: `await etcd.delete({ prefix: 'tmp/' })`. */
  delete(target: Bytes | KeySelector, options?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    return del(this.core, target, options);
  }

  /** Discards history before `revision`; reads and watches at older revisions then fail. */
  compact(revision: number, options?: CompactOptions): Promise<{ revision: number }> {
    return compact(this.core, revision, options);
  }

  /** Every key a selector matches, read in pages at one revision. */
  scan(query: KeySelector & ScanQuery, options?: CallOptions): AsyncGenerator<KeyValue, void, undefined> {
    return scan(this.core, query, options);
  }

  /** A transaction: `etcd.txn().if(cmp...).then(op...).else(op...).commit()`. */
  txn(): Txn<[], []> {
    return txn(this.core);
  }

  /**
   * Watches a key, prefix or range: `for await (const event of etcd.watch({ prefix }))`.
   * All watchers of this client share one connection.
   */
  watch(options: WatchOptions): Watch {
    return watch(this.core, options);
  }

  /** A live copy of the keys under a selector: lists, then watches, re-listing after compaction. */
  reflect(options: ReflectOptions): Reflector {
    return reflect(this.core, options);
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

  /** A session: one lease kept alive, shared by the locks and elections given it. */
  session(options?: SessionOptions): Promise<Session> {
    return session(this.core, options);
  }

  /** Waits for the lock `name` (fair, first come first served) and holds it: `await using lock = await etcd.lock('jobs')`. */
  lock(name: Bytes, options?: LockOptions): Promise<Lock> {
    return lock(this.core, name, options);
  }

  /** Takes the lock `name` if it is free, else resolves to undefined without queueing. */
  tryLock(name: Bytes, options?: LockOptions): Promise<Lock | undefined> {
    return tryLock(this.core, name, options);
  }

  /** The election `name`: campaign, leader, observe. */
  election(name: Bytes): Election {
    return election(this.core, name);
  }

  /**
   * Runs `apply` as a software transaction (Go's STM): its reads are checked and its writes
   * committed together, and it runs again on a conflict. See `Isolation` for the levels.
   *
   * @example
   * await etcd.stm(async (tx) => {
   *   const a = Number(await tx.get('a')), b = Number(await tx.get('b'));
   *   tx.put('a', String(a - 1));
   *   tx.put('b', String(b + 1));
   * }, { isolation: 'serializable' });
   */
  stm<T>(apply: (tx: StmTx) => T | Promise<T>, options?: StmOptions): Promise<StmCommit<T>> {
    return stm(this.core, apply, options);
  }
}

export * from './admin/index.ts';
export * from './concurrency/index.ts';
export * from './kv/index.ts';
export * from './lease/index.ts';
export * from './relay/index.ts';
export * from './watch/index.ts';
