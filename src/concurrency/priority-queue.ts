import type { CallOptions } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import { type Bytes, concat, describe, toBytes } from '../core/codec.ts';
import { EtcdError, InvalidArgumentError } from '../core/errors.ts';
import type { KeyValue } from '../core/key-value.ts';
import { range } from '../kv/kv.ts';
import { cmp, op, txn } from '../kv/txn.ts';
import { join, recipeName, takeFirst } from './recipe-keys.ts';

/**
 * A priority queue (Go's `recipe.PriorityQueue`, on the same keys): an item of priority `p` is
 * the key `name/<p, 5 digits>/<sequence, 16 digits>`, so `dequeue()` takes the lowest priority
 * number first, and items of one priority in order. Works with Go programs using
 * `recipe.NewPriorityQueue(client, name)`.
 *
 * @example
 * ```ts
 * const tasks = priorityQueue(etcd, 'tasks');
 * await tasks.enqueue('rebuild index', 10);
 * await tasks.enqueue('page on-call', 0);
 * (await tasks.dequeue()).valueText; // 'page on-call'
 * ```
 */
export class PriorityQueue {
  readonly #core: Core;
  /** `name/` */
  readonly #prefix: Uint8Array;

  constructor(client: Client, name: Bytes) {
    this.#core = coreOf(client);
    this.#prefix = join(recipeName(name, 'priority queue'), '/');
  }

  /**
   * Adds an item with `priority` (an integer from 0, first out, to 65535), after the items of
   * the same priority; resolves with its key.
   */
  async enqueue(value: Bytes, priority: number, options: CallOptions = {}): Promise<Uint8Array> {
    if (!Number.isInteger(priority) || priority < 0 || priority > 0xffff)
      throw new InvalidArgumentError(`priority must be an integer from 0 to 65535, got ${describe(priority)}`);
    const prefix = join(this.#prefix, String(priority).padStart(5, '0'));
    return await putSequential(this.#core, prefix, value, options);
  }

  /**
   * Takes the item with the lowest priority number (its key-value, now deleted), waiting for one
   * when the queue is empty; the signal ends the wait with `AbortedError`.
   */
  dequeue(options: CallOptions = {}): Promise<KeyValue> {
    const first = { sort: { target: 'key', order: 'ascend' }, limit: 1 } as const;
    return takeFirst(this.#core, first, this.#prefix, options);
  }
}

/**
 * Creates `prefix/<n>`, n one more than the last key's (16 digits), guarded by the key
 * `__prefix` so that two writers never take the same n (Go's newSequentialKV).
 */
async function putSequential(core: Core, prefix: Uint8Array, value: Bytes, options: CallOptions): Promise<Uint8Array> {
  const base = concat(toBytes('__'), prefix);
  for (;;) {
    const last = await range(core, { prefix }, { ...options, sort: { target: 'key', order: 'descend' }, limit: 1 });
    let next = 0;
    const lastKey = last.kvs[0]?.keyText;
    if (lastKey !== undefined) {
      const field = lastKey.slice(lastKey.lastIndexOf('/') + 1);
      const n = /^\d+/.exec(field)?.[0];
      if (n === undefined) throw new EtcdError(`priority queue key ${JSON.stringify(lastKey)} ends in no number`);
      next = Number(n) + 1;
    }
    const key = join(prefix, `/${String(next).padStart(16, '0')}`);
    const written = await txn(core)
      .if(cmp.modRevision(base, '<', last.revision + 1))
      .then(op.put(base, ''), op.put(key, value))
      .commit(options);
    if (written.succeeded) return key;
  }
}

/**
 * The priority queue `name` (Go's `recipe.NewPriorityQueue`): enqueue with a priority, dequeue.
 *
 * @example
 * ```ts
 * await priorityQueue(etcd, 'tasks').enqueue('urgent', 0);
 * ```
 */
export function priorityQueue(client: Client, name: Bytes): PriorityQueue {
  return new PriorityQueue(client, name);
}
