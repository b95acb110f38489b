import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import type { Bytes } from '../core/codec.ts';
import type { KeyValue } from '../core/key-value.ts';
import { putUniqueKey, recipeName, takeFirst } from './recipe-keys.ts';

/**
 * A FIFO work queue (Go's `recipe.Queue`, on the same keys): each item is a key
 * `name/<nanoseconds>`; `dequeue()` takes the oldest (by mod revision) and deletes it, so each
 * item goes to exactly one taker. Works with Go programs using `recipe.NewQueue(client, name)`.
 * As in Go, it reads every key that starts with `name` (`jobs` also sees `jobs2/...`): choose
 * names that are not prefixes of one another.
 *
 * @example
 * ```ts
 * const jobs = workQueue(etcd, 'jobs');
 * await jobs.enqueue('resize image 42');
 * const job = await jobs.dequeue({ signal: AbortSignal.timeout(30_000) }); // waits for one if empty
 * console.log(job.valueText);
 * ```
 */
export class WorkQueue {
  readonly #core: Core;
  readonly #name: Uint8Array;

  constructor(client: Client, name: Bytes) {
    this.#core = coreOf(client);
    this.#name = recipeName(name, 'work queue');
  }

  /** Adds an item at the end; resolves with its key. */
  async enqueue(value: Bytes, options: CallOptions = {}): Promise<Uint8Array> {
    return (await putUniqueKey(this.#core, this.#name, value, undefined, options)).key;
  }

  /**
   * Takes the oldest item (its key-value, now deleted), waiting for one when the queue is empty;
   * the signal ends the wait with `AbortedError`.
   */
  dequeue(options: CallOptions = {}): Promise<KeyValue> {
    const oldest = { sort: { target: 'modRevision', order: 'ascend' }, limit: 1 } as const;
    return takeFirst(this.#core, oldest, this.#name, options);
  }
}

/**
 * The work queue `name` (Go's `recipe.NewQueue`): enqueue, dequeue.
 *
 * @example
 * ```ts
 * await workQueue(etcd, 'jobs').enqueue('job 1');
 * ```
 */
export function workQueue(client: Client, name: Bytes): WorkQueue {
  return new WorkQueue(client, name);
}
