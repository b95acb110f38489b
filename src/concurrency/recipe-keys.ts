import type { CallOptions } from '../core/call-options.ts';
import type { Core } from '../core/client-core.ts';
import { type Bytes, concat, toBytes } from '../core/codec.ts';
import { AbortedError, EtcdError, InvalidArgumentError } from '../core/errors.ts';
import type { KeyValue } from '../core/key-value.ts';
import type { LeaseRef } from '../core/lease-ref.ts';
import { type RangeOptions, range } from '../kv/kv.ts';
import { cmp, op, txn } from '../kv/txn.ts';
import { watch } from '../watch/watch.ts';

// The key helpers of Go's experimental/recipe package (key.go, client.go, watch.go), shared by the
// recipes here so they write exactly the keys Go's do.

/** A key a recipe created: its name and the revision of the txn that created it. */
export interface RecipeKey {
  readonly key: Uint8Array;
  /** The create revision of the key (the revision of the txn that wrote it). */
  readonly revision: number;
}

/** `name` as bytes, refusing an empty one (`what` names the recipe in the error). */
export function recipeName(name: Bytes, what: string): Uint8Array {
  const bytes = toBytes(name, `${what} name`);
  if (bytes.length === 0) throw new InvalidArgumentError(`a ${what} name must not be empty`);
  return bytes;
}

/** `a` followed by the UTF-8 bytes of `b`. */
export function join(a: Uint8Array, b: string): Uint8Array {
  return concat(a, toBytes(b));
}

/** Creates `key` only if it does not exist (Go's putNewKV); the create revision, or undefined when it exists. */
export async function putNewKey(
  core: Core,
  key: Uint8Array,
  value: Bytes,
  lease: LeaseRef | undefined,
  options: CallOptions,
): Promise<number | undefined> {
  const put = op.put(key, value, lease === undefined ? {} : { lease });
  const result = await txn(core)
    .if(cmp.version(key, '=', 0))
    .then(put)
    .commit(options);
  return result.succeeded ? result.revision : undefined;
}

let lastNanos = '';
let sameMillisecond = 0;

/**
 * A key name like Go's `fmt.Sprintf("%s/%v", prefix, time.Now().UnixNano())`: the time in
 * nanoseconds since 1970 (milliseconds from `Date.now()`, the rest counted and salted), unique
 * enough; a clash is caught by `putNewKey` and retried.
 */
function nanoseconds(): string {
  const ms = String(Date.now());
  sameMillisecond = ms === lastNanos ? sameMillisecond + 1 : Math.floor(Math.random() * 500_000);
  lastNanos = ms;
  return `${ms}${String(sameMillisecond % 1_000_000).padStart(6, '0')}`;
}

/** Creates `prefix/<nanoseconds>` with `value` (Go's newUniqueKV, or newUniqueEphemeralKV with a lease). */
export async function putUniqueKey(
  core: Core,
  prefix: Uint8Array,
  value: Bytes,
  lease: LeaseRef | undefined,
  options: CallOptions,
): Promise<RecipeKey> {
  for (;;) {
    const key = join(prefix, `/${nanoseconds()}`);
    const revision = await putNewKey(core, key, value, lease, options);
    if (revision !== undefined) return { key, revision };
    throwIfAborted(options.signal, 'creating a unique key');
  }
}

/** Deletes `key` if its mod revision is still `modRevision` (Go's deleteRevKey); whether it did. */
export async function deleteRevKey(
  core: Core,
  key: Uint8Array,
  modRevision: number,
  options: CallOptions,
): Promise<boolean> {
  const result = await txn(core)
    .if(cmp.modRevision(key, '=', modRevision))
    .then(op.del(key))
    .commit(options);
  return result.succeeded;
}

/** The first of `kvs` this call deletes unchanged (Go's claimFirstKey), or undefined. */
export async function claimFirstKey(
  core: Core,
  kvs: readonly KeyValue[],
  options: CallOptions,
): Promise<KeyValue | undefined> {
  for (const kv of kvs) if (await deleteRevKey(core, kv.key, kv.modRevision, options)) return kv;
  return undefined;
}

/**
 * Waits from `startRevision` on for the first event of `type` on `key`, or on every key under
 * `prefix` (Go's WaitEvents and WaitPrefixEvents); resolves with it. The signal ends the wait
 * with `AbortedError`.
 */
export async function waitEvent(
  core: Core,
  target: { key: Uint8Array } | { prefix: Uint8Array },
  startRevision: number,
  type: 'put' | 'delete',
  signal: AbortSignal | undefined,
): Promise<KeyValue> {
  const filters = type === 'put' ? { noDelete: true } : { noPut: true };
  const watcher = watch(core, { ...target, startRevision, filters, signal });
  try {
    for await (const event of watcher) if (event.type === type) return event.kv;
    throwIfAborted(signal, 'waiting');
    throw new EtcdError(`the watch ended before the ${type} came`, { path: '/v3/watch' });
  } finally {
    watcher.close();
  }
}

/** Throws `AbortedError` (its cause the signal's reason) when `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
}

/**
 * Takes the first item under `prefix` that `first` (sort and limit) finds (deleting it unchanged), or waits for the next one put under
 * `prefix` and takes that: the Dequeue of Go's Queue and PriorityQueue. Another taker may win any
 * item; then it looks again.
 */
export async function takeFirst(
  core: Core,
  first: RangeOptions,
  prefix: Uint8Array,
  options: CallOptions,
): Promise<KeyValue> {
  for (;;) {
    const found = await range(core, { prefix }, { ...options, ...first });
    const claimed = await claimFirstKey(core, found.kvs, options);
    if (claimed !== undefined) return claimed;
    if (found.more) continue;
    const next = await waitEvent(core, { prefix }, found.revision, 'put', options.signal);
    if (await deleteRevKey(core, next.key, next.modRevision, options)) return next;
  }
}
