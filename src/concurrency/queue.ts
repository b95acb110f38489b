import type { CallOptions } from '../core/call-options.ts';
import type { Core } from '../core/client-core.ts';
import { type Bytes, concat, toBytes } from '../core/codec.ts';
import { AbortedError, EtcdError, InvalidArgumentError, LeaseLostError, WatchCompactedError } from '../core/errors.ts';
import { del, get, range } from '../kv/kv.ts';
import { type Comparison, cmp, op, txn } from '../kv/txn.ts';
import { watch } from '../watch/watch.ts';
import { Session, sessionEnded } from './session.ts';

/** How locks and campaigns get their session. */
export interface QueueOptions extends CallOptions {
  /** Use this session; by default one of its own (`ttl`) that ends with the lock or leadership. */
  session?: Session;
  /**
   * TTL in seconds of the session made when none is given; 60 by default, as in Go. A holder that
   * crashes keeps the place until its lease expires, so others wait up to this long; a holder whose
   * keep-alives fail for this long loses it. Smaller means faster failover, but more false losses
   * on a slow network (see `SessionOptions`).
   */
  ttl?: number;
}

/**
 * A place in a fair queue under a prefix (Go's concurrency recipes): the key `prefix<lease hex>`,
 * held with a session's lease. Its create revision orders the queue and fences writes.
 */
export class QueuePlace {
  /** The key in etcd (`name/<lease hex>`). */
  readonly key: Uint8Array;
  /** The key's create revision: grows with every newcomer, so it serves as a fencing token. */
  readonly revision: number;
  readonly session: Session;
  protected readonly core: Core;
  protected readonly ownsSession: boolean;
  readonly #lost = new AbortController();
  /** Aborts when the place is left on purpose: stops the key's watch and ignores what follows. */
  readonly #left = new AbortController();
  #watching = false;

  constructor(core: Core, key: Uint8Array, revision: number, session: Session, ownsSession: boolean) {
    this.core = core;
    this.key = key;
    this.revision = revision;
    this.session = session;
    this.ownsSession = ownsSession;
    const sessionLost = session.lost;
    const onSessionLost = () => this.#lose(sessionLost.reason);
    if (sessionLost.aborted) onSessionLost();
    else {
      sessionLost.addEventListener('abort', onSessionLost, { once: true });
      // A session shared by many places over time keeps no listener of a place that was left.
      this.#left.signal.addEventListener('abort', () => sessionLost.removeEventListener('abort', onSessionLost), {
        once: true,
      });
    }
  }

  /**
   * Aborts when the place is lost without being given up: its session's lease expired or was
   * revoked by someone else (reason: `LeaseLostError`), or another client deleted its key (reason:
   * an `EtcdError` saying so; the first read of `lost` starts watching the key). A deliberate
   * `unlock()`, `resign()` or `close()` of its session never fires it.
   */
  get lost(): AbortSignal {
    if (!this.#watching) {
      this.#watching = true;
      void this.#watchKey();
    }
    return this.#lost.signal;
  }

  /** A comparison that holds only while this place is held. */
  protected holds(): Comparison {
    return cmp.createRevision(this.key, '=', this.revision);
  }

  /** Leaves the queue: the session ends if it was made for this place, else the key is deleted while still ours. */
  protected async leave(options: CallOptions): Promise<void> {
    // Given up on purpose: nothing after this fires `lost`.
    if (!this.#left.signal.aborted) this.#left.abort();
    if (this.ownsSession) await this.session.close();
    else if (!this.session.lost.aborted) await txn(this.core).if(this.holds()).then(op.del(this.key)).commit(options);
  }

  #lose(reason: unknown): void {
    if (!this.#left.signal.aborted && !this.#lost.signal.aborted) this.#lost.abort(reason);
  }

  /**
   * The key is gone. Its session's own end (close, expiry, revocation) deletes it too: when etcd
   * says the lease is gone, the lease (and so the session) is lost, with `LeaseLostError`; else
   * another client deleted the key.
   */
  async #deleted(ended: AbortSignal, stop: AbortSignal): Promise<void> {
    if (ended.aborted) return;
    const lease = this.session.lease;
    const ttl = await lease.timeToLive({ signal: stop }).then(
      (answer) => answer.ttl,
      () => undefined,
    );
    if (stop.aborted) return;
    if (ttl === -1) lease.markLost(`lease ${lease.id} is gone: etcd deleted the keys held with it`);
    else this.#lose(new EtcdError('the key of this place was deleted by another client', { path: '/v3/watch' }));
  }

  /**
   * Watches the key until the place is left or its session ends; a delete by anyone else loses the
   * place. After a compaction the key is read instead (same create revision: still ours).
   */
  async #watchKey(): Promise<void> {
    const ended = sessionEnded(this.session);
    const stop = AbortSignal.any([this.#left.signal, ended]);
    let from = this.revision + 1;
    while (!stop.aborted && !this.#lost.signal.aborted) {
      const watcher = watch(this.core, { key: this.key, startRevision: from, filters: { noPut: true }, signal: stop });
      try {
        for await (const event of watcher) {
          if (event.type === 'delete') return await this.#deleted(ended, stop);
        }
        return;
      } catch (error) {
        if (!(error instanceof WatchCompactedError) || stop.aborted) return;
        const now = await get(this.core, this.key, { keysOnly: true, signal: stop }).catch(() => null);
        if (now === null || stop.aborted) return;
        if (now?.createRevision !== this.revision) return await this.#deleted(ended, stop);
        from = error.compactRevision;
      } finally {
        watcher.close();
      }
    }
  }
}

interface Entry {
  key: Uint8Array;
  revision: number;
  session: Session;
  ownsSession: boolean;
  /** The value the key already had, when this session was in the queue before. */
  existing: Uint8Array | undefined;
}

/**
 * Joins the queue `name/` with `value` and, with `wait`, waits until no one is ahead; without it,
 * gives the place up and answers undefined when someone is. `whenExisting` runs when this
 * session already had a place (a campaign then proclaims its new value).
 */
export async function joinQueue(
  core: Core,
  name: Bytes,
  value: Bytes,
  options: QueueOptions,
  wait: boolean,
  what: string,
): Promise<Entry | undefined> {
  const prefix = queuePrefix(name, what);
  // Checked before the session is granted: bad input sends nothing.
  value = toBytes(value, `${what} value`);
  const session = options.session ?? (await Session.create(core, { ttl: options.ttl, signal: options.signal }));
  const ownsSession = options.session === undefined;
  const key = concat(prefix, toBytes(session.suffix));
  // The session's end stops the wait: its loss, or a deliberate close() (which fires no lost).
  const ended = sessionEnded(session);
  const signal = options.signal ? AbortSignal.any([options.signal, ended]) : ended;
  let joined = false;
  try {
    const first = { sort: { target: 'createRevision', order: 'ascend' }, limit: 1 } as const;
    const entered = await txn(core)
      .if(cmp.createRevision(key, '=', 0))
      .then(op.put(key, value, { lease: session.lease }), op.range({ prefix }, first))
      .else(op.get(key), op.range({ prefix }, first))
      .commit({ signal });
    joined = true;
    const existing = entered.succeeded ? undefined : entered.results[0];
    const revision = existing?.createRevision ?? entered.revision;
    if (entered.results[1].kvs[0]?.createRevision !== revision) {
      if (!wait) {
        if (entered.succeeded) await del(core, key);
        if (ownsSession) await session.close();
        return undefined;
      }
      await waitDeletes(core, prefix, revision - 1, signal);
      // The session may have expired while waiting: then the key is gone, and the place with it.
      if ((await get(core, key, { keysOnly: true, signal }))?.createRevision !== revision) {
        throw new LeaseLostError(
          `the session of ${what} ${JSON.stringify(String(name))} expired while waiting`,
          session.lease.id,
        );
      }
    }
    return { key, revision, session, ownsSession, existing: existing?.value };
  } catch (error) {
    const sessionLost = session.lost.aborted;
    // Read before this catch closes a session of its own (which ends it too).
    const sessionClosed = ended.aborted && !sessionLost;
    if (joined && !sessionLost) await del(core, key).catch(() => {});
    if (ownsSession) await session.close().catch(() => {});
    if (sessionLost && !(error instanceof LeaseLostError)) throw session.lost.reason;
    if (sessionClosed)
      throw new AbortedError(`the session of ${what} ${JSON.stringify(String(name))} was closed while waiting`, {
        cause: error,
      });
    if (options.signal?.aborted && !(error instanceof AbortedError))
      throw new AbortedError(`waiting for the ${what} was aborted`, { cause: error });
    throw error;
  }
}

/** The prefix under which the queue `name` keeps its keys: `name/`. */
export function queuePrefix(name: Bytes, what: string): Uint8Array {
  const bytes = toBytes(name, `${what} name`);
  if (bytes.length === 0) throw new InvalidArgumentError(`a ${what} name must not be empty`);
  return concat(bytes, toBytes('/'));
}

/**
 * Waits until no key under `prefix` created at or before `maxCreateRevision` is left: the queue
 * ahead has drained. Watches one predecessor at a time (the newest), so a crowd of waiters does
 * not wake all at once.
 */
async function waitDeletes(
  core: Core,
  prefix: Uint8Array,
  maxCreateRevision: number,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    const ahead = await range(
      core,
      { prefix },
      { maxCreateRevision, sort: { target: 'createRevision', order: 'descend' }, limit: 1, keysOnly: true, signal },
    );
    const predecessor = ahead.kvs[0];
    if (predecessor === undefined) return;
    const watcher = watch(core, {
      key: predecessor.key,
      startRevision: ahead.revision + 1,
      filters: { noPut: true },
      signal,
    });
    try {
      for await (const event of watcher) if (event.type === 'delete') break;
    } finally {
      watcher.close();
    }
  }
}
