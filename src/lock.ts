import { type Bytes, toBytes } from './codec.ts';
import { AbortedError, LeaseLostError } from './errors.ts';
import type { Etcd } from './index.ts';
import { Session, type SessionOptions } from './session.ts';
import type { CallOptions } from './transport.ts';
import { cmp, type Comparison, op } from './txn.ts';
import { concat, waitDeletes } from './wait-deletes.ts';

export interface LockOptions extends CallOptions {
  /** Hold the lock with this session; by default a session of its own (`ttl`) ends with the lock. */
  session?: Session;
  /** TTL of the lock's own session in seconds (60), when no `session` is given. */
  ttl?: number;
}

/**
 * A held lock (Go's `concurrency.Mutex`): a key `name/<lease>` whose create revision is the
 * holder's place in a fair queue. `revision` is a fencing token; `isOwner()` guards writes.
 */
export class Lock implements AsyncDisposable {
  /** The lock's key in etcd (`name/<lease hex>`). */
  readonly key: Uint8Array;
  /** The key's create revision: increases with every new holder, for fencing. */
  readonly revision: number;
  readonly session: Session;
  readonly #etcd: Etcd;
  readonly #ownsSession: boolean;
  #released = false;

  constructor(etcd: Etcd, key: Uint8Array, revision: number, session: Session, ownsSession: boolean) {
    this.#etcd = etcd;
    this.key = key;
    this.revision = revision;
    this.session = session;
    this.#ownsSession = ownsSession;
  }

  /** Aborts when the session's lease is lost: etcd has deleted the key, the lock is gone. */
  get lost(): AbortSignal {
    return this.session.lost;
  }

  /** A comparison that holds only while this lock is held: `etcd.txn().if(lock.isOwner())`. */
  isOwner(): Comparison {
    return cmp.createRevision(this.key, '=', this.revision);
  }

  async unlock(options: CallOptions = {}): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#ownsSession) await this.session.close();
    else if (!this.session.lost.aborted) await this.#etcd.delete(this.key, options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}

/** Waits for the lock `name` (fair: first come, first served) and holds it. */
export async function lock(etcd: Etcd, name: Bytes, options: LockOptions = {}): Promise<Lock> {
  return (await acquire(etcd, name, options, true))!;
}

/** Takes the lock `name` if nobody holds it; undefined otherwise (queueing nowhere). */
export function tryLock(etcd: Etcd, name: Bytes, options: LockOptions = {}): Promise<Lock | undefined> {
  return acquire(etcd, name, options, false);
}

async function acquire(etcd: Etcd, name: Bytes, options: LockOptions, wait: boolean): Promise<Lock | undefined> {
  const prefix = concat(toBytes(name, 'lock name'), toBytes('/'));
  const session = options.session ?? (await Session.create(etcd, { ttl: options.ttl, signal: options.signal } satisfies SessionOptions));
  const ownsSession = options.session === undefined;
  const key = concat(prefix, toBytes(session.suffix));
  const signal = options.signal ? AbortSignal.any([options.signal, session.lost]) : session.lost;
  let queued = false;
  try {
    const first = { prefix, sort: { target: 'create', order: 'ascend' }, limit: 1 } as const;
    const entered = await etcd
      .txn()
      .if(cmp.createRevision(key, '=', 0))
      .then(op.put(key, '', { lease: session.lease }), op.range(first))
      .else(op.get(key), op.range(first))
      .commit({ signal });
    queued = true;
    const revision = entered.succeeded ? entered.revision : entered.results[0]!.createRevision;
    const owner = entered.results[1].kvs[0];
    if (owner?.createRevision !== revision) {
      if (!wait) {
        if (entered.succeeded) await etcd.delete(key);
        if (ownsSession) await session.close();
        return undefined;
      }
      await waitDeletes(etcd, prefix, revision - 1, signal);
      // The session may have expired while waiting: then the key is gone and so is the lock.
      if ((await etcd.get(key, { keysOnly: true, signal }))?.createRevision !== revision) {
        throw new LeaseLostError(`the session of lock ${JSON.stringify(String(name))} expired while waiting`, session.lease.id);
      }
    }
    return new Lock(etcd, key, revision, session, ownsSession);
  } catch (error) {
    const sessionLost = session.lost.aborted;
    if (queued && !sessionLost) await etcd.delete(key).catch(() => {});
    if (ownsSession) await session.close().catch(() => {});
    if (sessionLost && !(error instanceof LeaseLostError)) throw session.lost.reason;
    if (options.signal?.aborted && !(error instanceof AbortedError)) throw new AbortedError('waiting for the lock was aborted', { cause: error });
    throw error;
  }
}
