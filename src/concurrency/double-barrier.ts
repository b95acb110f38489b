import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import type { Bytes } from '../core/codec.ts';
import type { AsyncDisposableLike } from '../core/disposable.ts';
import { DoubleBarrierFullError, EtcdError, InvalidArgumentError } from '../core/errors.ts';
import { del, put, range } from '../kv/kv.ts';
import { join, putUniqueKey, type RecipeKey, recipeName, waitEvent } from './recipe-keys.ts';
import { Session } from './session.ts';

/**
 * Options of a double barrier: a session to enter with, else one of its own (`ttl` seconds, 60
 * by default) made by `enter()` and closed by `leave()`. A participant that crashes leaves when
 * its session's lease expires.
 *
 * @example
 * ```ts
 * const stage = doubleBarrier(etcd, 'stage', 3, { ttl: 10 });
 * ```
 */
export interface DoubleBarrierOptions {
  session?: Session;
  ttl?: number;
}

/**
 * A double barrier (Go's `recipe.DoubleBarrier`, on the same keys: `name/waiters/<ns>` held with
 * the session's lease, and `name/ready`): `enter()` waits until `count` participants have
 * entered, `leave()` until all of them have left. Works with Go programs using
 * `recipe.NewDoubleBarrier(session, name, count)`.
 *
 * @example
 * ```ts
 * await using stage = doubleBarrier(etcd, 'stage', 3);
 * await stage.enter({ signal: AbortSignal.timeout(60_000) }); // all three are in
 * await work();
 * await stage.leave();                                         // all three are done
 * ```
 */
export class DoubleBarrier implements AsyncDisposableLike {
  readonly count: number;
  readonly #core: Core;
  readonly #name: Uint8Array;
  readonly #options: DoubleBarrierOptions;
  #session: Session | undefined;
  #mine: RecipeKey | undefined;

  constructor(client: Client, name: Bytes, count: number, options: DoubleBarrierOptions = {}) {
    if (!Number.isSafeInteger(count) || count < 1)
      throw new InvalidArgumentError(`a double barrier's count must be a positive integer, got ${String(count)}`);
    this.#core = coreOf(client);
    this.#name = recipeName(name, 'double barrier');
    this.count = count;
    this.#options = options;
  }

  /**
   * Enters, then waits until `count` participants have entered. Throws `DoubleBarrierFullError`
   * when `count` are in already; the signal ends the wait with `AbortedError` (and leaves).
   */
  async enter(options: CallOptions = {}): Promise<void> {
    if (this.#mine !== undefined) throw new EtcdError('this double barrier was entered already');
    const core = this.#core;
    if ((await this.#entered(options)).length >= this.count)
      throw new DoubleBarrierFullError(`the double barrier already has its ${this.count} participants`);
    const session =
      this.#options.session ?? (await Session.create(core, { ttl: this.#options.ttl, signal: options.signal }));
    this.#session = session;
    try {
      const mine = await putUniqueKey(core, join(this.#name, '/waiters'), '', session.lease, options);
      this.#mine = mine;
      const entered = await this.#entered(options);
      if (entered.length >= this.count) {
        const last = entered[this.count - 1]!;
        if (mine.revision > last.createRevision)
          throw new DoubleBarrierFullError(`the double barrier already has its ${this.count} participants`);
        // The last one in lets everyone through.
        if (mine.revision === last.createRevision) return void (await put(core, this.#ready(), '', options));
      }
      await waitEvent(core, { key: this.#ready() }, mine.revision, 'put', options.signal);
    } catch (error) {
      await this.#drop().catch(() => {});
      throw error;
    }
  }

  /**
   * Leaves, then waits until every participant has left (a crashed one leaves when its lease
   * expires). The signal ends the wait with `AbortedError`.
   */
  async leave(options: CallOptions = {}): Promise<void> {
    const core = this.#core;
    const mine = this.#mine;
    if (mine === undefined) return;
    for (;;) {
      const { kvs } = await range(core, { prefix: join(this.#name, '/waiters') }, options);
      if (kvs.length === 0) break;
      let lowest = kvs[0]!;
      let highest = kvs[0]!;
      for (const kv of kvs) {
        if (kv.modRevision < lowest.modRevision) lowest = kv;
        if (kv.modRevision > highest.modRevision) highest = kv;
      }
      const isLowest = sameBytes(lowest.key, mine.key);
      if (kvs.length === 1 && isLowest) {
        // The last one out takes the barrier down.
        await del(core, this.#ready(), options);
        break;
      }
      // The lowest waits for the highest; the others leave and wait for the lowest.
      if (isLowest) {
        await waitEvent(core, { key: highest.key }, highest.modRevision, 'delete', options.signal);
      } else {
        await this.#deleteMine(options);
        await waitEvent(core, { key: lowest.key }, lowest.modRevision, 'delete', options.signal);
      }
    }
    await this.#drop(options);
  }

  /** `await using stage = doubleBarrier(...)`: leaves at the end of the scope if it entered. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.leave();
  }

  #ready(): Uint8Array {
    return join(this.#name, '/ready');
  }

  #entered(options: CallOptions) {
    const waiters = { prefix: join(this.#name, '/waiters') };
    const sort = { target: 'createRevision', order: 'ascend' } as const;
    return range(this.#core, waiters, { ...options, sort }).then((result) => result.kvs);
  }

  #deleted = false;

  async #deleteMine(options: CallOptions): Promise<void> {
    if (this.#deleted || this.#mine === undefined) return;
    this.#deleted = true;
    await del(this.#core, this.#mine.key, options);
  }

  /** Deletes this participant's key and closes a session of its own; it may enter again. */
  async #drop(options: CallOptions = {}): Promise<void> {
    try {
      await this.#deleteMine(options);
    } finally {
      if (this.#options.session === undefined) await this.#session?.close();
      this.#session = undefined;
      this.#mine = undefined;
      this.#deleted = false;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * The double barrier `name` for `count` participants (Go's `recipe.NewDoubleBarrier`).
 *
 * @example
 * ```ts
 * const stage = doubleBarrier(etcd, 'stage', 3);
 * await stage.enter();
 * await stage.leave();
 * ```
 */
export function doubleBarrier(
  client: Client,
  name: Bytes,
  count: number,
  options: DoubleBarrierOptions = {},
): DoubleBarrier {
  return new DoubleBarrier(client, name, count, options);
}
