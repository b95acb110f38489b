import type { CallOptions } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import type { Bytes } from '../core/codec.ts';
import type { AsyncDisposableLike } from '../core/disposable.ts';
import type { Comparison } from '../kv/txn.ts';
import { joinQueue, type QueueOptions, QueuePlace } from './queue.ts';

/**
 * Options of `lock` and `tryLock`: a session to hold it with (else one of its own, `ttl` seconds,
 * 60 by default as in Go), a deadline and a signal. The TTL is how long a crashed holder keeps the
 * lock before the next in line gets it, and also how long a live holder's keep-alives may fail
 * before it loses the lock: smaller means faster failover but more false losses on a slow network.
 *
 * @example
 * ```ts
 * await using held = await lock(etcd, 'jobs/nightly', { ttl: 10, timeout: 60_000 }); // a crash frees it within 10 s
 * ```
 */
export type LockOptions = QueueOptions;

/**
 * A held lock (Go's `concurrency.Mutex`): a key `name/<lease>` whose create revision is the
 * holder's place in a fair queue. `revision` is a fencing token; `isOwner()` guards writes.
 *
 * @example
 * ```ts
 * await using held = await lock(etcd, 'jobs/nightly');
 * await etcd.txn().if(held.isOwner()).then(op.put('jobs/nightly/state', 'running')).commit();
 * ```
 */
export class Lock extends QueuePlace implements AsyncDisposableLike {
  #released = false;

  /** A comparison that holds only while this lock is held: `txn(core).if(lock.isOwner())`. */
  isOwner(): Comparison {
    return this.holds();
  }

  /** Releases the lock (deletes its key); the next in line gets it. Fires no `lost`. A second call does nothing. */
  async unlock(options: CallOptions = {}): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.leave(options);
  }

  /** `await using held = await lock(...)`: unlocks at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}

/**
 * Waits for the lock `name` (fair: first come, first served) and holds it.
 *
 * The name is a key prefix, as in Go's `concurrency.Mutex`: each waiter writes `name/<lease>`, and
 * any key under `name/` counts as a waiter ahead. Keep other keys out of that prefix, or the lock
 * waits for them forever.
 *
 * @example
 * ```ts
 * await using held = await lock(core, 'jobs/nightly');
 * console.log('fencing token', held.revision);
 * ```
 */
export async function lock(client: Client, name: Bytes, options: LockOptions = {}): Promise<Lock> {
  const core = coreOf(client);
  const entry = (await joinQueue(core, name, '', options, true, 'lock'))!;
  return new Lock(core, entry.key, entry.revision, entry.session, entry.ownsSession);
}

/**
 * Takes the lock `name` if nobody holds it; undefined otherwise (queueing nowhere).
 *
 * @example
 * ```ts
 * const held = await tryLock(core, 'jobs/nightly');
 * if (held === undefined) console.log('someone else runs it');
 * else await held.unlock();
 * ```
 */
export async function tryLock(client: Client, name: Bytes, options: LockOptions = {}): Promise<Lock | undefined> {
  const core = coreOf(client);
  const entry = await joinQueue(core, name, '', options, false, 'lock');
  return entry && new Lock(core, entry.key, entry.revision, entry.session, entry.ownsSession);
}
