import type { CallOptions, WireObject } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import {
  type Bytes,
  checkCount,
  decodeArray,
  decodeBool,
  decodeInt,
  describe,
  encodeBase64,
  encodeBytes,
} from '../core/codec.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { decodeHeader, decodeKeyValue, KeyValue, type ResponseHeader } from '../core/key-value.ts';
import { type KeySelector, type Keyspace, selectorOnly, toSelector } from '../core/keyspace.ts';
import { type LeaseRef, leaseId } from '../core/lease-ref.ts';
import { EVERY_KEY, rangeOf } from './key-ranges.ts';
import { observeRevision, orderedRead } from './ordered-read.ts';
import { schedulerOf } from './scheduler.ts';
import { batchable, unreadAnswer, type WriteKind } from './write-batch.ts';

/**
 * What `range` sorts by: the key, its version, create or mod revision, or the value.
 *
 * @example
 * ```ts
 * await etcd.range({ prefix: 'jobs/' }, { sort: { target: 'createRevision', order: 'ascend' } });
 * ```
 */
export type SortTarget = 'key' | 'version' | 'createRevision' | 'modRevision' | 'value';
/**
 * The order of `range`'s sort.
 *
 * @example
 * ```ts
 * await etcd.range({ prefix: 'jobs/' }, { sort: { target: 'modRevision', order: 'descend' }, limit: 10 });
 * ```
 */
export type SortOrder = 'none' | 'ascend' | 'descend';

/**
 * How a range reads, beyond which keys.
 *
 * @example
 * ```ts
 * await etcd.get('k', { revision: 42, serializable: true });
 * ```
 */
export interface ReadOptions {
  /** Read the store as of this revision (0 or omitted: the latest). */
  revision?: number;
  /** Answer from the local member without a quorum round trip (may be stale). */
  serializable?: boolean;
}

/**
 * How a range reads and what it returns: limit, sort, keys or counts only, revision filters.
 *
 * @example
 * ```ts
 * await etcd.range({ prefix: 'logs/' }, { limit: 100, keysOnly: true, minModRevision: 1_000 });
 * ```
 */
export interface RangeOptions extends ReadOptions {
  /** At most this many keys (0 or omitted: no limit). */
  limit?: number;
  sort?: { target?: SortTarget; order?: SortOrder };
  /** Return keys without values. */
  keysOnly?: boolean;
  /** Return only the count of matching keys. */
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

/** Which keys a range reads and how: what `encodeRange` turns into a `/v3/kv/range` body. */
export type RangeQuery = KeySelector & RangeOptions;

/**
 * How `get` reads one key: at a revision, serializable, or without its value.
 *
 * @example
 * ```ts
 * await etcd.get('k', { revision: 42, keysOnly: true });
 * ```
 */
export interface GetOptions extends ReadOptions {
  /** Return the key without its value. */
  keysOnly?: boolean;
}

/**
 * What a range read found.
 *
 * @example
 * ```ts
 * const { kvs, more, count, revision } = await etcd.range({ prefix: 'users/' }, { limit: 10 });
 * ```
 */
export interface RangeResult {
  kvs: KeyValue[];
  /** More keys match than `limit` let through. */
  more: boolean;
  /** How many keys match in all (ignoring `limit`). */
  count: number;
  /** The store revision this answer reflects. */
  revision: number;
  header: ResponseHeader;
}

/**
 * How a put writes: bound to a lease, returning the previous value, or keeping value or lease.
 *
 * @example
 * ```ts
 * await etcd.put('session/42', 'alive', { lease, prevKv: true });
 * ```
 */
export interface PutOptions {
  /** Attach the key to this lease (a lease object, or its ID as a decimal string, safe integer or bigint). */
  lease?: LeaseRef;
  /** Return the previous key-value, if any. */
  prevKv?: boolean;
  /** Keep the current value (pass `value` as `undefined`); the key must exist. */
  ignoreValue?: boolean;
  /** Keep the current lease; the key must exist. */
  ignoreLease?: boolean;
}

/**
 * What a put did: the revision it made, and the previous key-value when asked for.
 *
 * @example
 * ```ts
 * const { revision, prevKv } = await etcd.put('k', 'v2', { prevKv: true });
 * ```
 */
export interface PutResult {
  revision: number;
  prevKv: KeyValue | undefined;
  header: ResponseHeader;
}

/**
 * How a delete works: `prevKv` returns what was deleted.
 *
 * @example
 * ```ts
 * const { prevKvs } = await etcd.del({ prefix: 'tmp/' }, { prevKv: true });
 * ```
 */
export interface DeleteOptions {
  /** Return the deleted key-values. */
  prevKv?: boolean;
}

/**
 * What a delete did: how many keys it deleted, at which revision.
 *
 * @example
 * ```ts
 * const { deleted } = await etcd.del({ prefix: 'tmp/' });
 * ```
 */
export interface DeleteResult {
  deleted: number;
  prevKvs: KeyValue[];
  revision: number;
  header: ResponseHeader;
}

/**
 * How `scan` walks: page size, keys only, and the revision to read at.
 *
 * @example
 * ```ts
 * for await (const kv of etcd.scan({ prefix: 'big/' }, { pageSize: 1_000, keysOnly: true })) console.log(kv.keyText);
 * ```
 */
export interface ScanOptions extends ReadOptions {
  /** Keys per request (default 500). */
  pageSize?: number;
  keysOnly?: boolean;
}

/**
 * Options of `compact`.
 *
 * @example
 * ```ts
 * await etcd.compact(revision, { physical: true });
 * ```
 */
export interface CompactOptions extends CallOptions {
  /** Wait until the compaction is physically applied. */
  physical?: boolean;
}

// Maps, not objects: a name every object inherits ('toString', '__proto__') is no sort target.
const SORT_TARGETS: ReadonlyMap<unknown, string> = /* @__PURE__ */ new Map<SortTarget, string>([
  ['key', 'KEY'],
  ['version', 'VERSION'],
  ['createRevision', 'CREATE'],
  ['modRevision', 'MOD'],
  ['value', 'VALUE'],
]);
const SORT_ORDERS: ReadonlyMap<unknown, string> = /* @__PURE__ */ new Map<SortOrder, string>([
  ['none', 'NONE'],
  ['ascend', 'ASCEND'],
  ['descend', 'DESCEND'],
]);
const DEFAULT_PAGE = 500;

/**
 * The key-value of one key, or undefined when it does not exist.
 *
 * @example
 * ```ts
 * const kv = await get(etcd, 'config/color');
 * console.log(kv?.valueText);
 * ```
 */
export async function get(
  client: Client,
  key: Bytes,
  options: GetOptions & CallOptions = {},
): Promise<KeyValue | undefined> {
  const { revision, serializable, keysOnly } = options;
  const result = await range(client, { key }, { ...options, revision, serializable, keysOnly });
  return result.kvs[0];
}

/**
 * Keys by key, prefix or range, with limit, sort, revision and filters (`/v3/kv/range`).
 *
 * @example
 * ```ts
 * const { kvs, more } = await range(etcd, { prefix: 'users/' }, { limit: 100 });
 * ```
 */
export async function range(
  client: Client,
  selector: KeySelector,
  options: RangeOptions & CallOptions = {},
): Promise<RangeResult> {
  const core = coreOf(client);
  const request = encodeRange(core.keyspace, { ...pickRange(options), ...selectorOnly(selector, 'range') });
  const scheduler = schedulerOf(core);
  // After the writes to its keys issued before it, before those issued after it.
  const wire = await scheduler.run('read', [rangeOf(request)], '/v3/kv/range', options, async (left) => {
    const floor = core.revisions?.revision ?? 0;
    // A read that asks for its own leader check travels alone (a batch carries the client's setting).
    const batcher = options.requireLeader === undefined ? scheduler.reads : undefined;
    const answer = batcher
      ? await batcher.range(request, left)
      : await core.transport.request('/kv/range', request, { ...left, idempotent: true });
    return core.revisions === undefined
      ? answer
      : orderedRead(core, answer, floor, request.serializable === true, '/kv/range', request, left);
  });
  return decodeRange(core.keyspace, wire);
}

/**
 * How many keys match.
 *
 * @example
 * ```ts
 * const users = await count(etcd, { prefix: 'users/' });
 * ```
 */
export async function count(
  client: Client,
  selector: KeySelector,
  options: ReadOptions & CallOptions = {},
): Promise<number> {
  const { revision, serializable } = options;
  return (await range(client, selectorOnly(selector, 'count'), { ...options, revision, serializable, countOnly: true }))
    .count;
}

/**
 * Writes one key (`/v3/kv/put`).
 *
 * @example
 * ```ts
 * const { revision } = await put(etcd, 'config/color', 'blue');
 * ```
 */
export async function put(
  client: Client,
  key: Bytes,
  value: Bytes | undefined,
  options: PutOptions & CallOptions = {},
): Promise<PutResult> {
  const core = coreOf(client);
  return decodePut(core.keyspace, await sendWrite(core, 'put', encodePut(core.keyspace, key, value, options), options));
}

/**
 * Deletes one key (a string or bytes) or every key a selector matches (`/v3/kv/deleterange`).
 *
 * @example
 * ```ts
 * await del(etcd, 'config/color');
 * const { deleted } = await del(etcd, { prefix: 'tmp/' });
 * ```
 */
export async function del(
  client: Client,
  target: Bytes | KeySelector,
  options: DeleteOptions & CallOptions = {},
): Promise<DeleteResult> {
  const core = coreOf(client);
  return decodeDelete(
    core.keyspace,
    await sendWrite(core, 'deleterange', encodeDelete(core.keyspace, target, options), options),
  );
}

/**
 * Discards history before `revision`; reads and watches at older revisions then fail.
 *
 * @example
 * ```ts
 * const { revision } = await put(etcd, 'k', 'v');
 * await compact(etcd, revision - 1000);
 * ```
 */
export async function compact(
  client: Client,
  revision: number,
  options: CompactOptions = {},
): Promise<{ revision: number }> {
  const core = coreOf(client);
  checkCount(revision, 'revision');
  const body = { revision: String(revision), physical: options.physical === true };
  // After every KV request issued before it, before every one issued after it.
  const wire = await schedulerOf(core).run('write', [EVERY_KEY], '/v3/kv/compaction', options, (left) =>
    core.transport.request('/kv/compaction', body, left),
  );
  return { revision: decodeHeader(wire.header).revision };
}

/**
 * A put or delete: after the calls to its keys issued before it, batched with the tick's other
 * writes unless its options say otherwise; its revision is noted for read ordering.
 */
function sendWrite(core: Core, kind: WriteKind, request: WireObject, options: CallOptions): Promise<WireObject> {
  const scheduler = schedulerOf(core);
  return scheduler.run('write', [rangeOf(request)], `/v3/kv/${kind}`, options, async (left) => {
    const floor = core.revisions?.revision ?? 0;
    const batcher = batchable(options, request) ? scheduler.writes : undefined;
    let wire: WireObject;
    try {
      wire = batcher
        ? await batcher.write(kind, request, left.timeout)
        : await core.transport.request(`/kv/${kind}`, request, left);
    } catch (error) {
      throw unreadAnswer(error, `/v3/kv/${kind}`);
    }
    observeRevision(core, wire, floor);
    return wire;
  });
}

/**
 * Every key a selector matches, in key order, read in pages that all see one revision
 * (the first page's), so the walk is a consistent snapshot of any size.
 *
 * @example
 * ```ts
 * for await (const kv of scan(etcd, { prefix: 'users/' })) console.log(kv.keyText);
 * ```
 */
export async function* scan(
  client: Client,
  selector: KeySelector,
  options: ScanOptions & CallOptions = {},
): AsyncGenerator<KeyValue, void, undefined> {
  const core = coreOf(client);
  const { keyspace, transport } = core;
  const query = {
    ...pickRead(options),
    pageSize: options.pageSize,
    keysOnly: options.keysOnly,
    ...selectorOnly(selector, 'scan'),
  };
  const pageSize = query.pageSize ?? DEFAULT_PAGE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new InvalidArgumentError(`pageSize must be a positive integer, got ${describe(pageSize)}`);
  const first = keyspace.encode(query);
  let key = first.key;
  let revision = query.revision ?? 0;
  for (;;) {
    const request: WireObject = {
      ...encodeReadOptions(query),
      key,
      limit: String(pageSize),
      revision: String(revision),
    };
    if (first.range_end !== undefined) request.range_end = first.range_end;
    if (query.keysOnly) request.keys_only = true;
    const pinned = revision;
    // Each page in the client's order of calls: the first sees every write issued before the walk.
    const wire = await schedulerOf(core).run('read', [rangeOf(request)], '/v3/kv/range', options, async (left) => {
      const floor = core.revisions?.revision ?? 0;
      const answer = await transport.request('/kv/range', request, { ...left, idempotent: true });
      // The first page fixes the revision of the whole walk: it must not be older than one seen.
      if (pinned !== 0 || core.revisions === undefined) return answer;
      return orderedRead(core, answer, floor, request.serializable === true, '/kv/range', request, left);
    });
    const page = decodeRange(keyspace, wire);
    if (revision === 0) revision = page.revision;
    for (const kv of page.kvs) yield kv;
    const last = page.kvs.at(-1);
    if (!page.more || last === undefined || first.range_end === undefined) return;
    key = encodeBase64(appendZero(keyspace.key(last.key)));
  }
}

export function encodeRange(keyspace: Keyspace, query: RangeQuery): WireObject {
  const wire: WireObject = keyspace.encode(query);
  if (query.revision !== undefined) wire.revision = String(checkCount(query.revision, 'revision'));
  if (query.serializable) wire.serializable = true;
  if (query.limit !== undefined) wire.limit = String(checkCount(query.limit, 'limit'));
  if (query.sort !== undefined) {
    const target = query.sort.target ?? 'key';
    const order = query.sort.order ?? 'ascend';
    const sortTarget = SORT_TARGETS.get(target);
    const sortOrder = SORT_ORDERS.get(order);
    if (sortTarget === undefined)
      throw new InvalidArgumentError(
        `sort target must be one of ${[...SORT_TARGETS.keys()].join(', ')}, got ${describe(target)}`,
      );
    if (sortOrder === undefined)
      throw new InvalidArgumentError(
        `sort order must be one of ${[...SORT_ORDERS.keys()].join(', ')}, got ${describe(order)}`,
      );
    wire.sort_target = sortTarget;
    wire.sort_order = sortOrder;
  }
  if (query.keysOnly) wire.keys_only = true;
  if (query.countOnly) wire.count_only = true;
  if (query.minModRevision !== undefined)
    wire.min_mod_revision = String(checkCount(query.minModRevision, 'minModRevision'));
  if (query.maxModRevision !== undefined)
    wire.max_mod_revision = String(checkCount(query.maxModRevision, 'maxModRevision'));
  if (query.minCreateRevision !== undefined)
    wire.min_create_revision = String(checkCount(query.minCreateRevision, 'minCreateRevision'));
  if (query.maxCreateRevision !== undefined)
    wire.max_create_revision = String(checkCount(query.maxCreateRevision, 'maxCreateRevision'));
  return wire;
}

function encodeReadOptions(options: ReadOptions): WireObject {
  const wire: WireObject = {};
  if (options.revision !== undefined) wire.revision = String(checkCount(options.revision, 'revision'));
  if (options.serializable) wire.serializable = true;
  return wire;
}

function pickRead(options: ReadOptions): ReadOptions {
  return { revision: options.revision, serializable: options.serializable };
}

/** The range options alone: a call's signal or deadline never reaches the request body. */
function pickRange(options: RangeOptions): RangeOptions {
  const { revision, serializable, limit, sort, keysOnly, countOnly } = options;
  const { minModRevision, maxModRevision, minCreateRevision, maxCreateRevision } = options;
  return {
    revision,
    serializable,
    limit,
    sort,
    keysOnly,
    countOnly,
    minModRevision,
    maxModRevision,
    minCreateRevision,
    maxCreateRevision,
  };
}

export function decodeRange(keyspace: Keyspace, wire: WireObject): RangeResult {
  const header = decodeHeader(wire.header);
  return {
    kvs: decodeArray(wire.kvs, 'kvs').map((kv) => decodeStripped(keyspace, kv)),
    more: decodeBool(wire.more),
    count: decodeInt(wire.count, 'count'),
    revision: header.revision,
    header,
  };
}

export function encodePut(keyspace: Keyspace, key: Bytes, value: Bytes | undefined, options: PutOptions): WireObject {
  const wire: WireObject = keyspace.encode({ key });
  if (options.ignoreValue) {
    if (value !== undefined && !(typeof value === 'string' ? value === '' : value.length === 0)) {
      throw new InvalidArgumentError('put with ignoreValue takes no value: pass undefined');
    }
    wire.ignore_value = true;
  } else {
    if (value === undefined) throw new InvalidArgumentError('put needs a value (or ignoreValue: true)');
    wire.value = encodeBytes(value, 'value');
  }
  if (options.lease !== undefined) {
    if (options.ignoreLease) throw new InvalidArgumentError('put takes a lease or ignoreLease, not both');
    wire.lease = leaseId(options.lease);
  }
  if (options.ignoreLease) wire.ignore_lease = true;
  if (options.prevKv) wire.prev_kv = true;
  return wire;
}

export function decodePut(keyspace: Keyspace, wire: WireObject): PutResult {
  const header = decodeHeader(wire.header);
  return {
    revision: header.revision,
    prevKv: wire.prev_kv === undefined ? undefined : decodeStripped(keyspace, wire.prev_kv),
    header,
  };
}

export function encodeDelete(keyspace: Keyspace, target: Bytes | KeySelector, options: DeleteOptions): WireObject {
  const wire: WireObject = { ...keyspace.encode(toSelector(target)) };
  if (options.prevKv) wire.prev_kv = true;
  return wire;
}

export function decodeDelete(keyspace: Keyspace, wire: WireObject): DeleteResult {
  const header = decodeHeader(wire.header);
  return {
    deleted: decodeInt(wire.deleted, 'deleted'),
    prevKvs: decodeArray(wire.prev_kvs, 'prev_kvs').map((kv) => decodeStripped(keyspace, kv)),
    revision: header.revision,
    header,
  };
}

export function decodeStripped(keyspace: Keyspace, wire: unknown): KeyValue {
  const kv = decodeKeyValue(wire);
  if (keyspace.prefix.length === 0) return kv;
  return new KeyValue(keyspace.strip(kv.key), kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease);
}

function appendZero(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1);
  next.set(key, 0);
  return next;
}
