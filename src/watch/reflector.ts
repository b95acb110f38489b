import { type Client, type Core, coreOf } from '../core/client-core.ts';
import type { AsyncDisposableLike } from '../core/disposable.ts';
import { WatchCompactedError } from '../core/errors.ts';
import type { KeyValue } from '../core/key-value.ts';
import { type KeySelector, selectorOf } from '../core/keyspace.ts';
import { range } from '../kv/kv.ts';
import { watch as openWatch, type Watch, type WatchEvent, type WatchOptions } from './watch.ts';

/**
 * What a reflector copies (a key, prefix or range), and its watch's options.
 *
 * @example
 * ```ts
 * reflect(etcd, { prefix: 'services/', signal: controller.signal });
 * ```
 */
export type ReflectOptions = KeySelector &
  Pick<WatchOptions, 'progressNotify' | 'stallTimeout' | 'maxBufferedEvents' | 'signal' | 'onReconnect'>;

/**
 * What changed in a reflector's state; `items` is the state after the change.
 *
 * @example
 * ```ts
 * for await (const update of reflect(etcd, { prefix: 'services/' })) console.log(update.type, update.revision, update.items.size);
 * ```
 */
export type ReflectorUpdate =
  /** The state was (re)listed at `revision`: on start, and after a compaction broke the watch. */
  | { type: 'list'; revision: number; items: ReadonlyMap<string, KeyValue> }
  /** Changes up to `revision` were applied. */
  | { type: 'events'; revision: number; events: WatchEvent[]; items: ReadonlyMap<string, KeyValue> };

/**
 * A live copy of every key under a selector, the "list, then watch" recipe: read the keys at
 * revision R, watch from R + 1, apply each event, and list again when the watch's revisions have
 * been compacted. Iterate it to drive it; `items` (key text → key-value) is current after each
 * update.
 *
 * @example
 * ```ts
 * const services = reflect(etcd, { prefix: 'services/' });
 * for await (const { items } of services) render([...items.values()].map((kv) => kv.valueText));
 * ```
 */
export class Reflector implements AsyncIterable<ReflectorUpdate>, AsyncDisposableLike {
  /** The reflected keys, by their UTF-8 text (caller's view: without a namespace prefix). */
  items: ReadonlyMap<string, KeyValue> = new Map();
  /** The revision `items` reflects (0 before the first list). */
  revision = 0;
  /** How many times a compaction forced a new list. */
  relists = 0;
  private readonly core: Core;
  private readonly options: ReflectOptions;
  private watch: Watch | undefined;
  private closed = false;

  /** Use `reflect(client, options)`. */
  constructor(core: Core, options: ReflectOptions) {
    core.keyspace.encode(options); // a bad selector fails now, not on first iteration
    this.core = core;
    this.options = options;
  }

  /** Lists, then applies each change: every update says what changed, `items` is the state after it. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ReflectorUpdate, void, undefined> {
    try {
      while (!this.closed) {
        const listed = await range(this.core, selectorOf(this.options), { signal: this.options.signal });
        const items = new Map<string, KeyValue>();
        for (const kv of listed.kvs) items.set(kv.keyText, kv);
        this.items = items;
        this.revision = listed.revision;
        yield { type: 'list', revision: listed.revision, items };
        if (this.closed) return;
        const watch = openWatch(this.core, { ...this.options, startRevision: listed.revision + 1 } as WatchOptions);
        this.watch = watch;
        try {
          for await (const response of watch.responses()) {
            this.revision = response.revision;
            if (response.progress) continue;
            for (const event of response.events) {
              if (event.type === 'put') items.set(event.kv.keyText, event.kv);
              else items.delete(event.kv.keyText);
            }
            yield { type: 'events', revision: response.revision, events: response.events, items };
          }
          return;
        } catch (error) {
          if (!(error instanceof WatchCompactedError)) throw error;
          this.relists++;
        }
      }
    } finally {
      this.close();
    }
  }

  /** Stops the reflector and its watch; a pending iteration ends. */
  close(): void {
    this.closed = true;
    this.watch?.close();
  }

  /** `await using reflector = reflect(etcd, ...)`: closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * A live copy of the keys under a selector: lists, then watches, re-listing after compaction.
 *
 * @example
 * ```ts
 * for await (const { items } of reflect(core, { prefix: 'services/' })) console.log(items.size, 'services');
 * ```
 */
export function reflect(client: Client, options: ReflectOptions): Reflector {
  const core = coreOf(client);
  return new Reflector(core, options);
}
