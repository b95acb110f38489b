/**
 * etcd-fetch/kv: keys, values and transactions over a client core, with the core itself.
 *
 * @example
 * ```ts
 * import { createCore, put, get, txn, cmp, op } from 'etcd-fetch/kv';
 * ```
 * @module etcd-fetch/kv
 */

export type { AuthOptions, PasswordSource, TokenSource } from '../core/auth-token.ts';
export type { CallOptions, FetchLike, WireObject } from '../core/call-options.ts';
export {
  type BatchOptions,
  type Client,
  type ClientOptions,
  type Core,
  createCore,
  namespaceCore,
} from '../core/client-core.ts';
export { type Bytes, toBytes } from '../core/codec.ts';
export type { AsyncDisposableLike } from '../core/disposable.ts';
export type { DiscoveryOptions, EndpointPoolOptions } from '../core/endpoints.ts';
export { type EnvOptions, type EnvSource, optionsFromEnv } from '../core/env-options.ts';
export * from '../core/errors.ts';
export { KeyValue, type ResponseHeader } from '../core/key-value.ts';
export type { KeySelector, Keyspace } from '../core/keyspace.ts';
export type { LeaseRef } from '../core/lease-ref.ts';
export type { RevisionFloor } from '../core/ordering.ts';
export type { RequestOptions, StreamRequestOptions, Transport, TransportOptions } from '../core/transport.ts';
export {
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
  type RangeOptions,
  type RangeQuery,
  type RangeResult,
  type ReadOptions,
  range,
  type ScanQuery,
  type SortOrder,
  type SortTarget,
  scan,
} from './kv.ts';
export {
  type CompareOperator,
  type Comparison,
  cmp,
  type Operation,
  op,
  type ResultsOf,
  Txn,
  TxnBuilder,
  type TxnResult,
  txn,
} from './txn.ts';
