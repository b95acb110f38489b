import type { AsyncDisposableLike } from '../core/disposable.ts';
import type { Bytes } from '../core/codec.ts';
import type { Core } from '../core/client-core.ts';
import { joinQueue, type QueueOptions, QueuePlace } from './queue.ts';
import type { CallOptions } from '../core/call-options.ts';
import type { Comparison } from '../kv/txn.ts';

export type LockOptions = QueueOptions;

/**
 * A held lock (Go's `concurrency.Mutex`): a key `name/<lease>` whose create revision is the
 * holder's place in a fair queue. `revision` is a fencing token; `isOwner()` guards writes.
 */
export class Lock extends QueuePlace implements AsyncDisposableLike {
  #released = false;

  /** A comparison that holds only while this lock is held: `txn(core).if(lock.isOwner())`. */
  isOwner(): Comparison {
    return this.holds();
  }

  async unlock(options: CallOptions = {}): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.leave(options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}

/** Waits for the lock `name` (fair: first come, first served) and holds it. */
export async function lock(core: Core, name: Bytes, options: LockOptions = {}): Promise<Lock> {
  const entry = (await joinQueue(core, name, '', options, true, 'lock'))!;
  return new Lock(core, entry.key, entry.revision, entry.session, entry.ownsSession);
}

/** Takes the lock `name` if nobody holds it; undefined otherwise (queueing nowhere). */
export async function tryLock(core: Core, name: Bytes, options: LockOptions = {}): Promise<Lock | undefined> {
  const entry = await joinQueue(core, name, '', options, false, 'lock');
  return entry && new Lock(core, entry.key, entry.revision, entry.session, entry.ownsSession);
}
