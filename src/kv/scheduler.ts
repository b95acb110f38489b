import type { CallOptions } from '../core/call-options.ts';
import { type Core, perClient } from '../core/client-core.ts';
import { Deadline } from '../core/deadline.ts';
import { AbortedError, TimeoutError } from '../core/errors.ts';
import type { Transport } from '../core/transport.ts';
import { ReadBatcher } from './batch.ts';
import { type KeyRange, overlaps } from './key-ranges.ts';
import { WriteBatcher } from './write-batch.ts';

/** What a request does to its keys: reads commute with reads; anything else keeps its order. */
export type Access = 'read' | 'write';

interface Entry {
  readonly access: Access;
  readonly ranges: readonly KeyRange[];
  /** Told when the request settles (later requests to its keys wait for it). */
  waiters: Array<() => void> | undefined;
}

/**
 * The one queue every KV request of a client passes through (range, put, delete, txn, each scan
 * page, compact, and so what locks, elections and STM send): a request is registered in the
 * tick it is issued, and waits until every earlier request it conflicts with has settled (their
 * keys overlap and one of them writes). Then it goes to its policy: the read batcher, the write
 * batcher, or alone. So a call always sees the effects of the calls issued before it on its keys,
 * and never those issued after. Time spent waiting counts toward the call's deadline.
 *
 * @example
 * ```ts
 * const wire = await schedulerOf(core).run('read', [rangeOf(request)], '/v3/kv/range', options, (left) => core.transport.request('/kv/range', request, left));
 * ```
 */
export class KvScheduler {
  /** Read batching: reads of one tick as one txn (undefined with `batch: false`). */
  readonly reads: ReadBatcher | undefined;
  /** Write batching: puts and deletes of one tick as one txn (undefined with `batch: false` or `writes: false`). */
  readonly writes: WriteBatcher | undefined;
  private readonly defaultTimeout: number;
  /** Requests not settled yet, by access: a read only looks at the writes. */
  private readonly pending: Record<Access, PendingSet> = { read: new PendingSet(), write: new PendingSet() };

  constructor(transport: Transport, reads: ReadBatcher | undefined, writes: WriteBatcher | undefined) {
    this.defaultTimeout = transport.timeout;
    this.reads = reads;
    this.writes = writes;
  }

  /**
   * Runs `send` once every earlier request that conflicts with this one has settled. Call it in
   * the tick the caller issued the request: that is the order kept. `send` gets the caller's
   * options, with `timeout` cut to what is left when the request had to wait.
   */
  run<T>(
    access: Access,
    ranges: readonly KeyRange[],
    path: string,
    options: CallOptions,
    send: (left: CallOptions) => Promise<T>,
  ): Promise<T> {
    const earlier = this.conflicts(access, ranges);
    const entry: Entry = { access, ranges, waiters: undefined };
    this.pending[access].add(entry);
    const done = () => this.settle(entry);
    let sent: Promise<T>;
    if (earlier.length === 0) {
      try {
        sent = send(options);
      } catch (error) {
        sent = Promise.reject(error);
      }
    } else {
      sent = this.afterEarlier(earlier, path, options).then(send);
    }
    sent.then(done, done);
    return sent;
  }

  /** Waits for the earlier requests within the call's own deadline; resolves with the options left. */
  private async afterEarlier(earlier: readonly Entry[], path: string, options: CallOptions): Promise<CallOptions> {
    const deadline = new Deadline(options.timeout ?? this.defaultTimeout, options.signal);
    try {
      await deadline.race(Promise.all(earlier.map(settledOf)));
      return { ...options, timeout: deadline.remaining() };
    } catch (reason) {
      const error = deadline.explain(reason, path);
      const waited = 'it waited behind an earlier call to its keys, and was not sent';
      if (error instanceof TimeoutError)
        throw new TimeoutError(`${path} did not finish within ${deadline.ms} ms: ${waited}`, {
          path,
          mayHaveApplied: false,
        });
      if (error instanceof AbortedError)
        throw new AbortedError(`${path} was aborted: ${waited}`, { path, cause: error.cause, mayHaveApplied: false });
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /** The unsettled requests issued before now that touch these keys, one of the two writing. */
  private conflicts(access: Access, ranges: readonly KeyRange[]): Entry[] {
    const found = new Set<Entry>();
    this.pending.write.touching(ranges, found);
    if (access === 'write') this.pending.read.touching(ranges, found);
    return [...found];
  }

  private settle(entry: Entry): void {
    this.pending[entry.access].delete(entry);
    const waiters = entry.waiters;
    entry.waiters = undefined;
    if (waiters !== undefined) for (const wake of waiters) wake();
  }
}

/**
 * Unsettled requests, indexed by single key (most requests touch one key, so a call finds those
 * of its key without looking at all the others); requests over a range are kept apart and
 * always compared.
 */
class PendingSet {
  private readonly byKey = new Map<string, Set<Entry>>();
  private readonly ranged = new Set<Entry>();

  add(entry: Entry): void {
    for (const range of entry.ranges) {
      if (range.rangeEnd !== undefined) this.ranged.add(entry);
      else {
        const entries = this.byKey.get(range.key);
        if (entries === undefined) this.byKey.set(range.key, new Set([entry]));
        else entries.add(entry);
      }
    }
  }

  delete(entry: Entry): void {
    this.ranged.delete(entry);
    for (const range of entry.ranges) {
      const entries = this.byKey.get(range.key);
      if (entries?.delete(entry) && entries.size === 0) this.byKey.delete(range.key);
    }
  }

  /** Adds to `found` every entry that shares a key with `ranges`. */
  touching(ranges: readonly KeyRange[], found: Set<Entry>): void {
    for (const range of ranges) {
      if (range.rangeEnd === undefined) {
        for (const entry of this.byKey.get(range.key) ?? []) found.add(entry);
      } else {
        for (const entries of this.byKey.values())
          for (const entry of entries) if (!found.has(entry) && touches(entry.ranges, [range])) found.add(entry);
      }
    }
    for (const entry of this.ranged) if (!found.has(entry) && touches(entry.ranges, ranges)) found.add(entry);
  }
}

function settledOf(entry: Entry): Promise<void> {
  return new Promise((resolve) => (entry.waiters ??= []).push(resolve));
}

function touches(a: readonly KeyRange[], b: readonly KeyRange[]): boolean {
  for (const x of a) for (const y of b) if (overlaps(x, y)) return true;
  return false;
}

const schedulers = /* @__PURE__ */ new WeakMap<Transport, KvScheduler>();

/** The KV scheduler of a client, shared by its namespaces (their keys are compared with their prefixes). */
export function schedulerOf(core: Core): KvScheduler {
  return perClient(
    schedulers,
    core,
    () => {
      const { batch, transport } = core;
      const reads = batch === false ? undefined : new ReadBatcher(transport, batch);
      const writes = batch === false || batch.writes === false ? undefined : new WriteBatcher(transport, reads?.maxOps);
      return new KvScheduler(transport, reads, writes);
    },
    // Requests queued when the client closes are refused by the transport, like any later call.
    () => {},
  );
}
