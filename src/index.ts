import { type BatchOptions, ReadBatcher } from './batch.ts';
import { type AuthOptions, PasswordAuth, type PasswordSource, StaticToken } from './auth-token.ts';
import { type Bytes, toBytes } from './codec.ts';
import type { DiscoveryOptions, EndpointPoolOptions } from './endpoints.ts';
import { AbortedError, EtcdError } from './errors.ts';
import type { KeyValue } from './key-value.ts';
import { type KeySelector, Keyspace } from './keyspace.ts';
import {
  type CompactOptions,
  type DeleteOptions,
  type DeleteResult,
  KV,
  type PutOptions,
  type PutResult,
  type RangeQuery,
  type RangeResult,
  type ReadOptions,
  type ScanQuery,
} from './kv.ts';
import { type CallOptions, type FetchLike, Transport } from './transport.ts';
import { Auth, type AuthStatus, type Permission, type PermissionType } from './auth.ts';
import { Cluster, type Member, type MemberList } from './cluster.ts';
import { type CampaignOptions, GatewayElection, type LeaderKey } from './gateway-election.ts';
import { GatewayLock, type GatewayLockOptions, type HeldLock } from './gateway-lock.ts';
import { type GrantOptions, Lease, type LeaseRef, LeaseService, type LeaseTimeToLive, stopKeepAlives } from './lease.ts';
import { type Alarm, type AlarmType, Maintenance, type MemberStatus } from './maintenance.ts';
import { type ClientParts, clientParts, nestedKeyspace } from './namespace.ts';
import { Txn } from './txn.ts';
import { Election } from './election.ts';
import { type Lock, type LockOptions, lock, tryLock } from './lock.ts';
import { Session, type SessionOptions } from './session.ts';
import { Reflector, type ReflectOptions } from './reflector.ts';
import { Watch, type WatchOptions } from './watch.ts';
import { existingWatchStream, watchStreamOf } from './watch-stream.ts';

export interface EtcdOptions {
  /** Client URLs of etcd members, e.g. `['http://127.0.0.1:2379']` (default). */
  endpoints?: string | readonly string[];
  /** A user and password (authenticated on first use, again when the token expires), or a token. */
  auth?: AuthOptions;
  /** Default deadline of each call in milliseconds (10 000). */
  timeout?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: FetchLike;
  /**
   * Also use the client URLs from the cluster's member list, kept up to date (default false);
   * `{ onError }` receives a failed refresh (default: one `console.warn` per run of failures).
   */
  discover?: boolean | DiscoveryOptions;
  /** When an endpoint that keeps failing is skipped, and for how long (default: after 2 failures, for 5 s). */
  circuitBreaker?: EndpointPoolOptions;
  /** Longest answer accepted, in bytes (default 64 MiB). */
  maxResponseBytes?: number;
  /**
   * Reads (get, range, count) issued in the same tick travel as one `/v3/kv/txn` (default on,
   * at most 128 reads per txn, etcd's default `--max-txn-ops`); `false` sends one request per read.
   */
  batch?: BatchOptions | false;
}

/** An etcd v3 client over the HTTP/JSON gateway. */
export class Etcd {
  readonly transport: Transport;
  readonly kv: KV;
  /** Leases: grant, revoke, time to live, list; one keep-alive loop per client. */
  readonly lease: LeaseService;
  /** Users, roles, permissions; enable and disable authentication. */
  readonly auth: Auth;
  /** Members: list, add, remove, update, promote. */
  readonly cluster: Cluster;
  /** Status, alarms, defragment, hash, move leader. */
  readonly maintenance: Maintenance;
  /** etcd's own lock service (`/v3/lock/*`). */
  readonly lockService: GatewayLock;
  /** etcd's own election service (`/v3/election/*`). */
  readonly electionService: GatewayElection;

  constructor(options: EtcdOptions = {}) {
    const parts = (options as { [clientParts]?: ClientParts })[clientParts];
    const transport = parts?.transport ?? Etcd.connect(options);
    const keyspace = parts?.keyspace ?? new Keyspace();
    const batcher = parts ? parts.batcher : options.batch === false ? undefined : new ReadBatcher(transport, options.batch);
    this.transport = transport;
    this.kv = new KV(transport, keyspace, batcher);
    this.lease = new LeaseService(transport, keyspace);
    this.auth = new Auth(transport);
    this.cluster = new Cluster(transport);
    this.maintenance = new Maintenance(transport);
    this.lockService = new GatewayLock(transport, keyspace);
    this.electionService = new GatewayElection(transport, keyspace);
  }

  private static connect(options: EtcdOptions): Transport {
    const endpoints = options.endpoints ?? ['http://127.0.0.1:2379'];
    const transport = new Transport({
      endpoints: typeof endpoints === 'string' ? endpoints.split(',').map((e) => e.trim()) : endpoints,
      timeout: options.timeout,
      fetch: options.fetch,
      discover: options.discover,
      circuitBreaker: options.circuitBreaker,
      maxResponseBytes: options.maxResponseBytes,
    });
    const auth = options.auth;
    if (auth !== undefined) {
      if ('token' in auth && typeof auth.token === 'string') transport.tokenSource = new StaticToken(auth.token);
      else if ('username' in auth && typeof auth.username === 'string' && (typeof auth.password === 'string' || typeof auth.password === 'function')) {
        transport.tokenSource = new PasswordAuth(transport, auth.username, auth.password);
      } else throw new EtcdError('auth takes { username, password } (password: a string or a function returning one) or { token }');
    }
    return transport;
  }

  /**
   * A client whose keys (KV, txn, lease-bound keys, lock and election names) live under
   * `prefix`, shown without it. It shares this client's connections, token and keep-alive loop.
   */
  namespace(prefix: Bytes): Etcd {
    const parts: ClientParts = { transport: this.transport, keyspace: nestedKeyspace(this.kv.keyspace, prefix), batcher: this.kv.batcher };
    return new Etcd({ [clientParts]: parts } as EtcdOptions);
  }

  /** Grants a lease of `ttl` seconds, kept alive until revoked or lost: `etcd.lease.grant`. */
  grant(ttl: number, options?: GrantOptions): Promise<Lease> {
    return this.lease.grant(ttl, options);
  }

  /** IDs of every lease etcd holds: `etcd.lease.list`. */
  leases(options?: CallOptions): Promise<string[]> {
    return this.lease.list(options);
  }

  /** One key's key-value, or undefined when it does not exist. */
  get(key: Bytes, options?: ReadOptions & { keysOnly?: boolean } & CallOptions): Promise<KeyValue | undefined> {
    return this.kv.get(key, options);
  }

  /** Keys by key, prefix or range, with limit, sort, revision and filters. */
  range(query: RangeQuery, options?: CallOptions): Promise<RangeResult> {
    return this.kv.range(query, options);
  }

  count(selector: KeySelector, options?: ReadOptions & CallOptions): Promise<number> {
    return this.kv.count(selector, options);
  }

  put(key: Bytes, value: Bytes | undefined, options?: PutOptions & CallOptions): Promise<PutResult> {
    return this.kv.put(key, value, options);
  }

  delete(target: Bytes | KeySelector, options?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    return this.kv.delete(target, options);
  }

  compact(revision: number, options?: CompactOptions): Promise<{ revision: number }> {
    return this.kv.compact(revision, options);
  }

  /** Every key a selector matches, read in pages at one revision. */
  scan(query: KeySelector & ScanQuery, options?: CallOptions): AsyncGenerator<KeyValue, void, undefined> {
    return this.kv.scan(query, options);
  }

  /** A transaction: `etcd.txn().if(cmp...).then(op...).else(op...).commit()`. */
  txn(): Txn<[], []> {
    return new Txn(this.transport, this.kv.keyspace);
  }

  /**
   * Watches a key, prefix or range: `for await (const event of etcd.watch({ prefix }))`.
   * All watchers of this client share one connection.
   */
  watch(options: WatchOptions): Watch {
    return new Watch(watchStreamOf(this.transport), this.kv.keyspace, options);
  }

  /** A live copy of the keys under a selector: lists, then watches, re-listing after compaction. */
  reflect(options: ReflectOptions): Reflector {
    return new Reflector(this.kv, (watchOptions) => this.watch(watchOptions), options);
  }

  /**
   * Closes the client and every namespace of it: watches end with `AbortedError`, leases are no
   * longer kept alive (their `lost` fires; etcd expires them after their TTL), later calls are
   * refused. `await using etcd = new Etcd(...)` closes it at the end of the scope.
   */
  close(): void {
    const transport = this.transport;
    if (transport.closed) return;
    transport.closed = true;
    existingWatchStream(transport)?.closeAll(new AbortedError('the watch ended: the client was closed', { path: '/v3/watch' }));
    stopKeepAlives(transport, 'the client was closed: the lease is no longer kept alive');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** A session: one lease kept alive, shared by the locks and elections given it. */
  session(options?: SessionOptions): Promise<Session> {
    return Session.create(this, options);
  }

  /** Waits for the lock `name` (fair, first come first served) and holds it: `await using lock = await etcd.lock('jobs')`. */
  lock(name: Bytes, options?: LockOptions): Promise<Lock> {
    return lock(this, name, options);
  }

  /** Takes the lock `name` if it is free, else resolves to undefined without queueing. */
  tryLock(name: Bytes, options?: LockOptions): Promise<Lock | undefined> {
    return tryLock(this, name, options);
  }

  /** The election `name`: campaign, leader, observe. */
  election(name: Bytes): Election {
    return new Election(this, name);
  }
}

export { toBytes };
export { Auth, Cluster, GatewayElection, GatewayLock, Lease, LeaseService, Maintenance };
export type {
  Alarm,
  AlarmType,
  AuthStatus,
  CampaignOptions,
  GatewayLockOptions,
  GrantOptions,
  HeldLock,
  LeaderKey,
  LeaseRef,
  LeaseTimeToLive,
  Member,
  MemberList,
  MemberStatus,
  Permission,
  PermissionType,
};
export type { BatchOptions } from './batch.ts';
export type { AuthOptions, Bytes, PasswordSource, CallOptions, DiscoveryOptions, EndpointPoolOptions, FetchLike, KeySelector };
export * from './errors.ts';
export { KeyValue, type ResponseHeader } from './key-value.ts';
export type {
  CompactOptions,
  DeleteOptions,
  DeleteResult,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeQuery,
  RangeResult,
  ReadOptions,
  ScanQuery,
  SortOrder,
  SortTarget,
} from './kv.ts';
export { Watch, type ReconnectInfo, type WatchEvent, type WatchFilters, type WatchOptions, type WatchResponse } from './watch.ts';
export { Reflector, type ReflectOptions, type ReflectorUpdate } from './reflector.ts';
export { Election, Leadership, NotLeaderError, type CampaignOptions as ElectionCampaignOptions } from './election.ts';
export { Lock, type LockOptions } from './lock.ts';
export { Session, type SessionOptions } from './session.ts';
export { relayWatch, type RelayOptions, type Watchable } from './relay.ts';
export { subscribe, type RelayedEvent, type SubscribeOptions } from './subscribe.ts';
export { cmp, op, type Comparison, type CompareOperator, type Operation, type ResultsOf, type TxnResult, TxnBuilder, Txn } from './txn.ts';
