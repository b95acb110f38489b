// etcd-fetch/kv: keys, values and transactions over a client core, with the core itself.
//   import { createCore, put, get, txn, cmp, op } from 'etcd-fetch/kv';
export { createCore, namespaceCore, type BatchOptions, type ClientOptions, type Core } from '../core/client-core.ts';
export type { AuthOptions, PasswordSource, TokenSource } from '../core/auth-token.ts';
export type { AsyncDisposableLike } from '../core/disposable.ts';
export type { CallOptions, FetchLike, WireObject } from '../core/call-options.ts';
export { toBytes, type Bytes } from '../core/codec.ts';
export type { DiscoveryOptions, EndpointPoolOptions } from '../core/endpoints.ts';
export { optionsFromEnv, type EnvOptions, type EnvSource } from '../core/env-options.ts';
export * from '../core/errors.ts';
export { KeyValue, type ResponseHeader } from '../core/key-value.ts';
export type { RevisionFloor } from '../core/ordering.ts';
export type { Keyspace, KeySelector } from '../core/keyspace.ts';
export type { RequestOptions, StreamRequestOptions, Transport, TransportOptions } from '../core/transport.ts';
export type { LeaseRef } from '../core/lease-ref.ts';
export {
  compact,
  count,
  del,
  get,
  put,
  range,
  scan,
  type CompactOptions,
  type DeleteOptions,
  type DeleteResult,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeQuery,
  type RangeResult,
  type ReadOptions,
  type ScanQuery,
  type SortOrder,
  type SortTarget,
} from './kv.ts';
export { cmp, op, txn, Txn, TxnBuilder, type Comparison, type CompareOperator, type Operation, type ResultsOf, type TxnResult } from './txn.ts';
