import { type Client, type Core, coreOf } from '../core/client-core.ts';
import type { Bytes } from '../core/codec.ts';
import { AbortedError, LeaseLostError } from '../core/errors.ts';
import { del, get, range } from '../kv/kv.ts';
import { Lock } from './lock.ts';
import type { QueueOptions } from './queue.ts';
import { join, putUniqueKey, recipeName, waitEvent } from './recipe-keys.ts';
import { Session, sessionEnded } from './session.ts';

/**
 * Options of `readLock` and `writeLock`: a session to hold the lock with, else one of its own
 * (`ttl` seconds, 60 by default) that ends with the lock; a signal that ends the wait.
 *
 * @example
 * ```ts
 * await using read = await rwMutex(etcd, 'catalog').readLock({ ttl: 10, signal: AbortSignal.timeout(30_000) });
 * ```
 */
export type RWMutexOptions = QueueOptions;

/**
 * A held read or write lock of an `RWMutex`: the key `name/read/<ns>` or `name/write/<ns>`, held
 * with its session's lease: a `Lock` whose `mode` says which.
 *
 * @example
 * ```ts
 * await using held = await rwMutex(etcd, 'catalog').writeLock();
 * await etcd.txn().if(held.isOwner()).then(op.put('catalog/v', '2')).commit();
 * ```
 */
export class RWLock extends Lock {
  /** `read`: shared with other readers; `write`: held alone. */
  readonly mode: 'read' | 'write';

  constructor(
    core: Core,
    key: Uint8Array,
    revision: number,
    session: Session,
    ownsSession: boolean,
    mode: 'read' | 'write',
  ) {
    super(core, key, revision, session, ownsSession);
    this.mode = mode;
  }
}

/**
 * A readers-writer lock (Go's `recipe.RWMutex`, on the same keys: `name/read/<ns>` and
 * `name/write/<ns>`): many readers at once, or one writer; fair, in arrival order (a reader waits
 * only for writers that came before it). Works with Go programs using
 * `recipe.NewRWMutex(session, name)`.
 *
 * @example
 * ```ts
 * const catalog = rwMutex(etcd, 'catalog');
 * {
 *   await using read = await catalog.readLock();
 *   console.log(await etcd.get('catalog/v'));
 * }
 * ```
 */
export class RWMutex {
  readonly #core: Core;
  /** `name/` */
  readonly #prefix: Uint8Array;
  readonly #options: RWMutexOptions;

  constructor(client: Client, name: Bytes, options: RWMutexOptions = {}) {
    this.#core = coreOf(client);
    this.#prefix = join(recipeName(name, 'rw mutex'), '/');
    this.#options = options;
  }

  /** Waits until no writer that came earlier holds or waits for the lock, then holds it for reading. */
  readLock(options: RWMutexOptions = {}): Promise<RWLock> {
    return this.#lock('read', { ...this.#options, ...options });
  }

  /** Waits until everyone that came earlier has unlocked, then holds the lock alone. */
  writeLock(options: RWMutexOptions = {}): Promise<RWLock> {
    return this.#lock('write', { ...this.#options, ...options });
  }

  async #lock(mode: 'read' | 'write', options: RWMutexOptions): Promise<RWLock> {
    const core = this.#core;
    const session = options.session ?? (await Session.create(core, { ttl: options.ttl, signal: options.signal }));
    const ownsSession = options.session === undefined;
    const ended = sessionEnded(session);
    const signal = options.signal ? AbortSignal.any([options.signal, ended]) : ended;
    let key: Uint8Array | undefined;
    try {
      const mine = await putUniqueKey(core, join(this.#prefix, mode), '', session.lease, { ...options, signal });
      key = mine.key;
      // A reader waits for earlier writers, a writer for everyone earlier.
      const blockers = mode === 'read' ? join(this.#prefix, 'write') : this.#prefix;
      for (;;) {
        const last = await range(
          core,
          { prefix: blockers },
          {
            ...options,
            signal,
            sort: { target: 'modRevision', order: 'descend' },
            limit: 1,
            maxModRevision: mine.revision - 1,
          },
        );
        const blocker = last.kvs[0];
        if (blocker === undefined) break;
        await waitEvent(core, { key: blocker.key }, mine.revision, 'delete', signal);
      }
      if ((await get(core, mine.key, { ...options, signal, keysOnly: true }))?.createRevision !== mine.revision)
        throw new LeaseLostError(`the session of the ${mode} lock expired while waiting`, session.lease.id);
      return new RWLock(core, mine.key, mine.revision, session, ownsSession, mode);
    } catch (error) {
      const lost = session.lost.aborted;
      if (key !== undefined && !lost) await del(core, key).catch(() => {});
      if (ownsSession) await session.close().catch(() => {});
      if (lost && !(error instanceof LeaseLostError)) throw session.lost.reason;
      if (ended.aborted && !lost && !options.signal?.aborted)
        throw new AbortedError(`the session of the ${mode} lock was closed while waiting`, { cause: error });
      throw error;
    }
  }
}

/**
 * The readers-writer lock `name` (Go's `recipe.NewRWMutex`): `readLock()`, `writeLock()`.
 *
 * @example
 * ```ts
 * await using held = await rwMutex(etcd, 'catalog').writeLock();
 * ```
 */
export function rwMutex(client: Client, name: Bytes, options: RWMutexOptions = {}): RWMutex {
  return new RWMutex(client, name, options);
}
