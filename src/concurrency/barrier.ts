import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import type { Bytes } from '../core/codec.ts';
import { del, get } from '../kv/kv.ts';
import { putNewKey, recipeName, waitEvent } from './recipe-keys.ts';

/**
 * A barrier (Go's `recipe.Barrier`, on the same key): while the key `name` exists, `wait()`
 * blocks; `release()` deletes it and lets every waiter through. Works with Go programs using
 * `recipe.NewBarrier(client, name)`.
 *
 * @example
 * ```ts
 * const gate = barrier(etcd, 'deploy/gate');
 * await gate.hold();                                         // raise it
 * await gate.wait({ signal: AbortSignal.timeout(60_000) });  // elsewhere: blocks until released
 * await gate.release();                                      // let everyone through
 * ```
 */
export class Barrier {
  readonly #core: Core;
  readonly #key: Uint8Array;

  constructor(client: Client, name: Bytes) {
    this.#core = coreOf(client);
    this.#key = recipeName(name, 'barrier');
  }

  /** Raises the barrier: creates its key; false when it was already up (Go's `ErrKeyExists`). */
  async hold(options: CallOptions = {}): Promise<boolean> {
    return (await putNewKey(this.#core, this.#key, '', undefined, options)) !== undefined;
  }

  /** Lowers the barrier: deletes its key, and every `wait()` returns. */
  async release(options: CallOptions = {}): Promise<void> {
    await del(this.#core, this.#key, options);
  }

  /** Resolves once the barrier is down (at once if it is); the signal ends the wait with `AbortedError`. */
  async wait(options: CallOptions = {}): Promise<void> {
    const up = await get(this.#core, this.#key, { ...options, keysOnly: true });
    if (up === undefined) return;
    await waitEvent(this.#core, { key: this.#key }, up.modRevision + 1, 'delete', options.signal);
  }
}

/**
 * The barrier `name` (Go's `recipe.NewBarrier`): hold, release, wait.
 *
 * @example
 * ```ts
 * await barrier(etcd, 'deploy/gate').wait();
 * ```
 */
export function barrier(client: Client, name: Bytes): Barrier {
  return new Barrier(client, name);
}
