import { type Bytes, toBytes } from './codec.ts';
import { AbortedError, EtcdError, LeaseLostError } from './errors.ts';
import type { Etcd } from './index.ts';
import type { KeyValue } from './key-value.ts';
import { Session } from './session.ts';
import type { CallOptions } from './transport.ts';
import { cmp, type Comparison, op } from './txn.ts';
import { concat, waitDeletes } from './wait-deletes.ts';

/** `proclaim` or `resign` by a candidate that no longer leads. */
export class NotLeaderError extends EtcdError {
  override name = 'NotLeaderError';
}

export interface CampaignOptions extends CallOptions {
  /** Campaign with this session; by default one of its own (`ttl`) that ends with the leadership. */
  session?: Session;
  /** TTL of the campaign's own session in seconds (60), when no `session` is given. */
  ttl?: number;
}

/** Leadership won by `campaign`: proclaim new values, resign, or fence writes with `isLeader()`. */
export class Leadership implements AsyncDisposable {
  readonly key: Uint8Array;
  /** Create revision of the leader key: increases with every new leader. */
  readonly revision: number;
  readonly session: Session;
  readonly #etcd: Etcd;
  readonly #ownsSession: boolean;

  constructor(etcd: Etcd, key: Uint8Array, revision: number, session: Session, ownsSession: boolean) {
    this.#etcd = etcd;
    this.key = key;
    this.revision = revision;
    this.session = session;
    this.#ownsSession = ownsSession;
  }

  /** Aborts when the session's lease is lost, which ends the leadership. */
  get lost(): AbortSignal {
    return this.session.lost;
  }

  /** A comparison that holds only while this leadership lasts. */
  isLeader(): Comparison {
    return cmp.createRevision(this.key, '=', this.revision);
  }

  /** Announces a new value without giving up leadership. */
  async proclaim(value: Bytes, options: CallOptions = {}): Promise<void> {
    const result = await this.#etcd.txn().if(this.isLeader()).then(op.put(this.key, value, { lease: this.session.lease })).commit(options);
    if (!result.succeeded) throw new NotLeaderError('proclaim failed: this candidate no longer leads');
  }

  /** Gives up leadership; the next candidate in line takes over. */
  async resign(options: CallOptions = {}): Promise<void> {
    if (this.#ownsSession) return this.session.close();
    await this.#etcd.txn().if(this.isLeader()).then(op.delete(this.key)).commit(options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.resign();
  }
}

/**
 * An election (Go's `concurrency.Election`): candidates queue by the create revision of their
 * key `name/<lease>`; the oldest leads, and its value is the election's value.
 */
export class Election {
  readonly #etcd: Etcd;
  readonly #prefix: Uint8Array;

  constructor(etcd: Etcd, name: Bytes) {
    this.#etcd = etcd;
    this.#prefix = concat(toBytes(name, 'election name'), toBytes('/'));
  }

  /** Waits until this candidate leads, then resolves with its leadership. */
  async campaign(value: Bytes, options: CampaignOptions = {}): Promise<Leadership> {
    const etcd = this.#etcd;
    const session = options.session ?? (await Session.create(etcd, { ttl: options.ttl, signal: options.signal }));
    const ownsSession = options.session === undefined;
    const key = concat(this.#prefix, toBytes(session.suffix));
    const signal = options.signal ? AbortSignal.any([options.signal, session.lost]) : session.lost;
    let entered = false;
    try {
      const result = await etcd
        .txn()
        .if(cmp.createRevision(key, '=', 0))
        .then(op.put(key, value, { lease: session.lease }))
        .else(op.get(key))
        .commit({ signal });
      entered = true;
      const revision = result.succeeded ? result.revision : result.results[0]!.createRevision;
      const leadership = new Leadership(etcd, key, revision, session, ownsSession);
      if (!result.succeeded) await leadership.proclaim(value, { signal });
      await waitDeletes(etcd, this.#prefix, revision - 1, signal);
      if ((await etcd.get(key, { keysOnly: true, signal }))?.createRevision !== revision) {
        throw new LeaseLostError('the campaign\'s session expired while waiting', session.lease.id);
      }
      return leadership;
    } catch (error) {
      const sessionLost = session.lost.aborted;
      if (entered && !sessionLost) await etcd.delete(key).catch(() => {});
      if (ownsSession) await session.close().catch(() => {});
      if (sessionLost && !(error instanceof LeaseLostError)) throw session.lost.reason;
      if (options.signal?.aborted && !(error instanceof AbortedError)) throw new AbortedError('the campaign was aborted', { cause: error });
      throw error;
    }
  }

  /** The current leader's key-value (its value is the election's value), or undefined. */
  async leader(options: CallOptions = {}): Promise<KeyValue | undefined> {
    return (await this.#first(options)).kv;
  }

  /**
   * Every change of leader or of the leader's value, starting with the current one: an async
   * iterable that lasts until `break` or the signal.
   */
  async *observe(options: CallOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    const etcd = this.#etcd;
    const signal = options.signal;
    let last: KeyValue | undefined;
    for (;;) {
      let { kv: leader, revision } = await this.#first({ signal });
      if (leader === undefined) {
        const watch = etcd.watch({ prefix: this.#prefix, startRevision: revision + 1, filters: { noDelete: true }, signal });
        try {
          for await (const event of watch) {
            leader = event.kv;
            revision = event.revision;
            break;
          }
        } finally {
          watch.close();
        }
        if (leader === undefined) return;
      }
      if (last === undefined || !sameKey(last, leader) || last.modRevision !== leader.modRevision) yield (last = leader);
      const watch = etcd.watch({ key: leader.key, startRevision: revision + 1, signal });
      try {
        for await (const event of watch) {
          if (event.type === 'delete') break;
          yield (last = event.kv);
        }
      } finally {
        watch.close();
      }
    }
  }

  async #first(options: CallOptions): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const result = await this.#etcd.range({ prefix: this.#prefix, sort: { target: 'create', order: 'ascend' }, limit: 1 }, options);
    return { kv: result.kvs[0], revision: result.revision };
  }
}

function sameKey(a: KeyValue, b: KeyValue): boolean {
  return a.key.length === b.key.length && a.key.every((byte, i) => byte === b.key[i]);
}
