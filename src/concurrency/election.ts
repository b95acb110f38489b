import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import type { Bytes } from '../core/codec.ts';
import type { AsyncDisposableLike } from '../core/disposable.ts';
import { NotLeaderError } from '../core/errors.ts';
import type { KeyValue } from '../core/key-value.ts';
import { range } from '../kv/kv.ts';
import { type Comparison, op, txn } from '../kv/txn.ts';
import { watch } from '../watch/watch.ts';
import { joinQueue, type QueueOptions, QueuePlace, queuePrefix } from './queue.ts';

/**
 * Options of `campaign`: a session, else one of its own
 * (`ttl` seconds, 60 by default as in Go), a deadline and a signal. The TTL is how long a crashed
 * leader keeps leading before the next candidate takes over, and also how long a live leader's
 * keep-alives may fail before it loses leadership: smaller means faster failover but more false
 * losses on a slow network.
 *
 * @example
 * ```ts
 * const leadership = await election(etcd, 'scheduler').campaign('node-a', { ttl: 15 });
 * ```
 */
export type CampaignOptions = QueueOptions;

/**
 * Leadership won by `campaign`: proclaim new values, resign, or fence writes with `isLeader()`.
 *
 * @example
 * ```ts
 * await using leadership = await election(etcd, 'scheduler').campaign('node-a');
 * await leadership.proclaim('node-a, v2');
 * ```
 */
export class Leadership extends QueuePlace implements AsyncDisposableLike {
  /** A comparison that holds only while this leadership lasts. */
  isLeader(): Comparison {
    return this.holds();
  }

  /** Announces a new value without giving up leadership. */
  async proclaim(value: Bytes, options: CallOptions = {}): Promise<void> {
    const result = await txn(this.core)
      .if(this.holds())
      .then(op.put(this.key, value, { lease: this.session.lease }))
      .commit(options);
    if (!result.succeeded) throw new NotLeaderError('proclaim failed: this candidate no longer leads');
  }

  /** Gives up leadership; the next candidate in line takes over. Fires no `lost`. */
  async resign(options: CallOptions = {}): Promise<void> {
    await this.leave(options);
  }

  /** `await using leadership = await election.campaign(...)`: resigns at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.resign();
  }
}

/**
 * An election (Go's `concurrency.Election`): candidates queue by the create revision of their
 * key `name/<lease>`; the oldest leads, and its value is the election's value.
 *
 * @example
 * ```ts
 * const scheduler = election(etcd, 'scheduler');
 * for await (const leader of scheduler.observe()) console.log('leader is', leader.valueText);
 * ```
 */
export class Election {
  readonly #core: Core;
  readonly #name: Bytes;
  readonly #prefix: Uint8Array;

  constructor(core: Core, name: Bytes) {
    this.#core = core;
    this.#name = name;
    this.#prefix = queuePrefix(name, 'election');
  }

  /** Waits until this candidate leads, then resolves with its leadership. */
  async campaign(value: Bytes, options: CampaignOptions = {}): Promise<Leadership> {
    const entry = (await joinQueue(this.#core, this.#name, value, options, true, 'election'))!;
    const leadership = new Leadership(this.#core, entry.key, entry.revision, entry.session, entry.ownsSession);
    // This session campaigned before: it keeps its place and announces the new value.
    if (entry.existing !== undefined) await leadership.proclaim(value, options);
    return leadership;
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
    const core = this.#core;
    const signal = options.signal;
    let last: KeyValue | undefined;
    for (;;) {
      let { kv: leader, revision } = await this.#first({ signal });
      if (leader === undefined) {
        const watcher = watch(core, {
          prefix: this.#prefix,
          startRevision: revision + 1,
          filters: { noDelete: true },
          signal,
        });
        try {
          for await (const event of watcher) {
            leader = event.kv;
            revision = event.revision;
            break;
          }
        } finally {
          watcher.close();
        }
        if (leader === undefined) return;
      }
      if (last === undefined || !sameKey(last, leader) || last.modRevision !== leader.modRevision)
        yield (last = leader);
      const watcher = watch(core, { key: leader.key, startRevision: revision + 1, signal });
      try {
        for await (const event of watcher) {
          if (event.type === 'delete') break;
          yield (last = event.kv);
        }
      } finally {
        watcher.close();
      }
    }
  }

  async #first(options: CallOptions): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const result = await range(
      this.#core,
      { prefix: this.#prefix },
      { ...options, sort: { target: 'createRevision', order: 'ascend' }, limit: 1 },
    );
    return { kv: result.kvs[0], revision: result.revision };
  }
}

function sameKey(a: KeyValue, b: KeyValue): boolean {
  return a.key.length === b.key.length && a.key.every((byte, i) => byte === b.key[i]);
}

/**
 * The election `name` over a client core: campaign, leader, observe.
 *
 * @example
 * ```ts
 * await using leadership = await election(core, 'scheduler').campaign('node-a');
 * ```
 */
export function election(client: Client, name: Bytes): Election {
  const core = coreOf(client);
  return new Election(core, name);
}
