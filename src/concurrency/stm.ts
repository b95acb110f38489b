import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import { type Bytes, checkCount, describe, encodeBytes, toBytes, toText } from '../core/codec.ts';
import { AbortedError, InvalidArgumentError, StmConflictError } from '../core/errors.ts';
import type { KeyValue, ResponseHeader } from '../core/key-value.ts';
import type { PutOptions, ReadOptions } from '../kv/kv.ts';
import { type Comparison, cmp, type Operation, op, txn } from '../kv/txn.ts';

/**
 * How an STM transaction conflicts with others (Go's `concurrency.Isolation`):
 * - `serializable-snapshot` (default): every read sees the store at the revision of the first
 *   read, and the commit fails if a key read changed or a key written was changed since then.
 * - `serializable`: the same snapshot reads; only keys read are checked.
 * - `repeatable-reads`: a key read twice gives the same answer; keys read are checked, but two
 *   keys may be read at different revisions.
 * - `read-committed`: reads see whatever is committed; nothing is checked (writes still land
 *   together, atomically).
 *
 * @example
 * await stm(etcd, async (tx) => tx.put('b', (await tx.get('a')) ?? ''), { isolation: 'serializable' });
 */
export type Isolation = 'serializable-snapshot' | 'serializable' | 'repeatable-reads' | 'read-committed';

/**
 * Options of {@link stm}. `signal` ends the retries (`AbortedError`); `timeout` bounds each call.
 *
 * @example
 * await stm(etcd, apply, { isolation: 'repeatable-reads', maxAttempts: 10, prefetch: ['a', 'b'] });
 */
export interface StmOptions extends CallOptions {
  /** Default `serializable-snapshot`, as Go's `NewSTM`. */
  isolation?: Isolation;
  /** Keys read in one round trip before each attempt (Go's `WithPrefetch`). */
  prefetch?: readonly Bytes[];
  /** Attempts before giving up with `StmConflictError` (default 100). */
  maxAttempts?: number;
}

/**
 * The view of the store one attempt of an STM transaction works on. Reads are remembered
 * (and checked at commit); writes are only buffered, and a read of a key written earlier in
 * the same attempt sees that write.
 *
 * @example
 * await stm(etcd, async (tx) => {
 *   const balance = Number(await tx.get('accounts/alice'));
 *   tx.put('accounts/alice', String(balance - 10));
 * });
 */
export interface StmTx {
  /** The value as UTF-8 text, or undefined when the key does not exist (or was deleted here). */
  get(key: Bytes): Promise<string | undefined>;
  /** The value's bytes, or undefined when the key does not exist (or was deleted here). */
  getBytes(key: Bytes): Promise<Uint8Array | undefined>;
  /** The key's mod revision as read (0: it does not exist); ignores this attempt's own writes. */
  rev(key: Bytes): Promise<number>;
  /** Buffers a write, sent with the commit. */
  put(key: Bytes, value: Bytes, options?: PutOptions): void;
  /** Buffers a delete of one key, sent with the commit. */
  del(key: Bytes): void;
}

/**
 * What a committed STM transaction gives back: the apply function's own result, the revision
 * of the commit and how many attempts it took.
 *
 * @example
 * const { value, revision, attempts } = await stm(etcd, async (tx) => tx.get('a'));
 */
export interface StmCommit<T> {
  value: T;
  revision: number;
  attempts: number;
  header: ResponseHeader;
}

const ISOLATIONS: readonly Isolation[] = [
  'serializable-snapshot',
  'serializable',
  'repeatable-reads',
  'read-committed',
];
const DEFAULT_MAX_ATTEMPTS = 100;

/**
 * Software transactional memory over etcd (Go's `concurrency.NewSTM`): runs `apply` against a
 * {@link StmTx}, then commits its writes in one txn guarded by the checks of `isolation`; on a
 * conflict it runs `apply` again, from fresh reads. `apply` may run several times, so it should
 * do nothing but read and write through `tx`. An error thrown by `apply` ends the transaction
 * without a commit and is passed on.
 *
 * @example
 * const { attempts } = await stm(core, async (tx) => {
 *   const from = Number(await tx.get('alice')), to = Number(await tx.get('bob'));
 *   tx.put('alice', String(from - 10));
 *   tx.put('bob', String(to + 10));
 * });
 */
export async function stm<T>(
  client: Client,
  apply: (tx: StmTx) => T | Promise<T>,
  options: StmOptions = {},
): Promise<StmCommit<T>> {
  const core = coreOf(client);
  const isolation = options.isolation ?? 'serializable-snapshot';
  if (!ISOLATIONS.includes(isolation))
    throw new InvalidArgumentError(`isolation must be one of ${ISOLATIONS.join(', ')}, got ${describe(isolation)}`);
  if (typeof apply !== 'function') throw new InvalidArgumentError(`stm takes a function, got ${describe(apply)}`);
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (checkCount(maxAttempts, 'maxAttempts') < 1) throw new InvalidArgumentError('maxAttempts must be at least 1');
  const call: CallOptions = { signal: options.signal, timeout: options.timeout };
  const prefetch = prefetchKeys(options.prefetch);
  const attempt = new Attempt(core, isolation, call);
  for (let attempts = 1; attempts <= maxAttempts; attempts++) {
    if (options.signal?.aborted)
      throw new AbortedError('the STM transaction was aborted', { path: '/v3/kv/txn', cause: options.signal.reason });
    attempt.reset();
    if (prefetch.length > 0) await attempt.read(prefetch);
    const value = await apply(attempt);
    const committed = await attempt.commit();
    if (committed) return { value, revision: committed.revision, attempts, header: committed.header };
  }
  throw new StmConflictError(maxAttempts);
}

/** One key as an attempt read it, with the store revision of the read. */
interface Read {
  key: Uint8Array;
  kv: KeyValue | undefined;
  revision: number;
}

interface Write {
  key: Uint8Array;
  /** Undefined for a delete. */
  value: Uint8Array | undefined;
  operation: Operation<unknown>;
}

/** The read and write sets of one attempt, and the checks its isolation level makes. */
class Attempt implements StmTx {
  private reads = new Map<string, Read>();
  private writes = new Map<string, Write>();
  /** The keys fetched when the last commit failed, at one revision (serializable levels). */
  private prefetched = new Map<string, Read>();
  /** The revision every read after the first is pinned to (serializable levels). */
  private snapshot: number | undefined;
  /** Reads run one after another, so reads started together still share the first one's snapshot. */
  private reading: Promise<void> = Promise.resolve();

  private readonly core: Core;
  private readonly isolation: Isolation;
  private readonly call: CallOptions;

  constructor(core: Core, isolation: Isolation, call: CallOptions) {
    this.core = core;
    this.isolation = isolation;
    this.call = call;
  }

  private get snapshots(): boolean {
    return this.isolation === 'serializable-snapshot' || this.isolation === 'serializable';
  }

  reset(): void {
    this.reading = Promise.resolve();
    this.reads = new Map();
    this.writes = new Map();
    this.snapshot = undefined;
  }

  async get(key: Bytes): Promise<string | undefined> {
    const bytes = await this.getBytes(key);
    return bytes === undefined ? undefined : toText(bytes);
  }

  async getBytes(key: Bytes): Promise<Uint8Array | undefined> {
    const written = this.writes.get(idOf(key));
    if (written) return written.value;
    return (await this.readOne(key)).kv?.value;
  }

  async rev(key: Bytes): Promise<number> {
    return (await this.readOne(key)).kv?.modRevision ?? 0;
  }

  put(key: Bytes, value: Bytes, options: PutOptions = {}): void {
    const bytes = toBytes(value, 'value');
    this.writes.set(idOf(key), { key: toBytes(key), value: bytes, operation: op.put(key, bytes, options) });
  }

  del(key: Bytes): void {
    this.writes.set(idOf(key), { key: toBytes(key), value: undefined, operation: op.del(key) });
  }

  private async readOne(key: Bytes): Promise<Read> {
    await this.read([toBytes(key)]);
    return this.reads.get(idOf(key))!;
  }

  /** Adds the keys not read yet to the read set, fetching them in one round trip. */
  read(keys: readonly Uint8Array[]): Promise<void> {
    const done = this.reading.then(() => this.fetch(keys));
    this.reading = done.catch(() => {});
    return done;
  }

  private async fetch(keys: readonly Uint8Array[]): Promise<void> {
    for (const key of keys) {
      const id = idOf(key);
      const early = this.prefetched.get(id);
      if (early && !this.reads.has(id)) this.reads.set(id, early);
      this.prefetched.delete(id);
    }
    const missing = unique(keys.filter((key) => !this.reads.has(idOf(key))));
    if (missing.length > 0) {
      const options: ReadOptions =
        this.isolation === 'read-committed' || this.isolation === 'repeatable-reads'
          ? { serializable: true }
          : this.snapshot !== undefined
            ? { revision: this.snapshot, serializable: true }
            : {};
      const result = await txn(this.core)
        .then(...missing.map((key) => op.get(key, options)))
        .commit(this.call);
      missing.forEach((key, i) =>
        this.reads.set(idOf(key), { key, kv: result.results[i] as KeyValue | undefined, revision: result.revision }),
      );
    }
    // The first read of an attempt fixes its snapshot (the prefetch's revision after a conflict).
    if (this.snapshots && this.snapshot === undefined && keys.length > 0)
      this.snapshot = this.reads.get(idOf(keys[0]!))!.revision;
  }

  /** Commits the writes if the checks hold; undefined on a conflict (after prefetching for the next attempt). */
  async commit(): Promise<{ revision: number; header: ResponseHeader } | undefined> {
    const reads = [...this.reads.values()];
    const result = await txn(this.core)
      .if(...this.conflicts(reads))
      .then(...[...this.writes.values()].map((write) => write.operation))
      .else(...(this.snapshots ? reads.map((read) => op.get(read.key)) : []))
      .commit(this.call);
    if (result.succeeded) return result;
    const fresh = reads.map((read, i): [string, Read] => [
      idOf(read.key),
      { key: read.key, kv: result.results[i] as KeyValue | undefined, revision: result.revision },
    ]);
    this.prefetched = new Map(this.snapshots ? fresh : []);
    return undefined;
  }

  private conflicts(reads: readonly Read[]): Comparison[] {
    if (this.isolation === 'read-committed') return [];
    const checks = reads.map((read) => cmp.modRevision(read.key, '=', read.kv?.modRevision ?? 0));
    if (this.isolation !== 'serializable-snapshot' || reads.length === 0) return checks;
    // Nothing written may have changed after the first read.
    const first = Math.min(...reads.map((read) => read.revision));
    return [...checks, ...[...this.writes.values()].map((write) => cmp.modRevision(write.key, '<', first + 1))];
  }
}

/** The `prefetch` option's keys; anything but an array of strings and bytes is refused. */
function prefetchKeys(prefetch: unknown): Uint8Array[] {
  if (prefetch === undefined) return [];
  if (!Array.isArray(prefetch))
    throw new InvalidArgumentError(`prefetch must be an array of keys, got ${describe(prefetch)}`);
  return prefetch.map((key: Bytes, i) => toBytes(key, `prefetch[${i}]`));
}

function idOf(key: Bytes): string {
  return encodeBytes(key, 'key');
}

function unique(keys: readonly Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return keys.filter((key) => {
    const id = idOf(key);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
