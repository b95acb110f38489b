import type { CallOptions } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { checkCount, describe } from '../core/codec.ts';
import type { AsyncDisposableLike } from '../core/disposable.ts';
import { AbortedError, EtcdError, InvalidArgumentError, TimeoutError } from '../core/errors.ts';
import { decodeHeader } from '../core/key-value.ts';
import type { KeySelector, Keyspace } from '../core/keyspace.ts';
import { inEdgeWorker } from '../core/runtime.ts';
import { setTimer } from '../core/timers.ts';
import type { Transport } from '../core/transport.ts';
import type { WatchCreateSpec, WatchEvent, WatchResponse } from './watch-events.ts';
import { type ReconnectInfo, type WatchMember, type WatchStream, watchStreamOf } from './watch-stream.ts';

export type { WatchEvent, WatchResponse } from './watch-events.ts';
export type { ReconnectInfo } from './watch-stream.ts';

/**
 * Kinds of events a watch leaves out.
 *
 * @example
 * ```ts
 * etcd.watch({ prefix: 'jobs/', filters: { noDelete: true } });
 * ```
 */
export interface WatchFilters {
  /** Leave out puts. */
  noPut?: boolean;
  /** Leave out deletes. */
  noDelete?: boolean;
}

/**
 * What to watch (a key, prefix or range), from which revision, and how.
 *
 * @example
 * ```ts
 * etcd.watch({ prefix: 'config/', startRevision: 100, prevKv: true, signal: controller.signal });
 * ```
 */
export type WatchOptions = KeySelector & {
  /** First revision to report (in the past: a replay from history). Omitted: changes after now. */
  startRevision?: number;
  /** Also report each key's previous value (`event.prevKv`). */
  prevKv?: boolean;
  filters?: WatchFilters;
  /**
   * Ask etcd for progress notifications (every `--experimental-watch-progress-notify-interval`,
   * 10 minutes by default), which also lets the watch notice a silent, broken connection.
   */
  progressNotify?: boolean;
  /**
   * Let etcd split very large answers into fragments (each about `--max-request-bytes`), default
   * true. They are reassembled here into whole revisions: an answer of many revisions comes out as
   * it arrives, in several responses, and only a revision split across fragments is held until it
   * is whole. With `false`, a replay of a long history of large values can arrive as one line over
   * the stream's 64 MiB line limit, which ends every watcher of the connection.
   */
  fragment?: boolean;
  /**
   * With `progressNotify`: milliseconds without a byte after which the connection counts as
   * broken and is reopened. Default: 15 minutes (1.5 × etcd's default interval); set it to
   * about twice the server's interval.
   */
  stallTimeout?: number;
  /**
   * How many undelivered events may wait for a slow consumer (default 5 000). Past it the
   * watcher steps off the shared stream, and steps back on, resumed at its next revision, once
   * its consumer has read half of them: memory stays bounded and nothing is lost (unless etcd
   * compacts the revisions meanwhile: then `WatchCompactedError`).
   */
  maxBufferedEvents?: number;
  /**
   * Milliseconds etcd has to create the watcher (default: the client's `timeout`, 10 s); past it
   * the watch ends with `TimeoutError` (`ready` rejects, iteration throws) instead of waiting on.
   */
  readyTimeout?: number;
  /** Ends the watch; iteration then throws `AbortedError`. */
  signal?: AbortSignal;
  /** Called when the shared stream broke and this watcher is about to be resumed. */
  onReconnect?: (info: ReconnectInfo) => void;
};

/** A `requestProgress` call waiting for the watch to reach `target`. */
interface ProgressWaiter {
  target: number;
  settle: (error?: unknown) => void;
}

const DEFAULT_STALL_TIMEOUT = 15 * 60_000;
const DEFAULT_MAX_BUFFERED = 5_000;
const COMPACT_QUEUE_AT = 1_024;

/**
 * A watcher on a key, prefix or range: an async iterable of events (`for await (const event of
 * watch)`), or of whole responses with their revision (`watch.responses()`); use one of the two.
 * It resumes by itself after a broken connection, without losing or repeating an event, and
 * ends with `WatchCompactedError` when the revisions it needs are compacted. `break`, `close()`,
 * `await using` or the signal stop it and release its share of the connection.
 *
 * @example
 * ```ts
 * await using watch = etcd.watch({ prefix: 'config/' });
 * await watch.ready;
 * for await (const event of watch) console.log(event.type, event.kv.keyText, event.kv.valueText);
 * ```
 */
export interface Watch extends AsyncIterable<WatchEvent>, AsyncDisposableLike {
  /** Resolves once etcd has created the watcher: changes made after that are surely seen. */
  readonly ready: Promise<void>;
  /** How many times the connection broke and this watcher was resumed. */
  readonly reconnects: number;
  /** The revision everything up to which has been delivered (0 before the first answer). */
  readonly revision: number;
  /** The first revision not yet delivered; where a resume starts. */
  readonly nextRevision: number;
  /**
   * Resolves, with the revision this watch is current to, once it has delivered every change up
   * to the store's revision at the time of the call: Go's `RequestProgress`, for one watch.
   *
   * @example
   * const watch = etcd.watch({ prefix: 'jobs/', progressNotify: true });
   * const revision = await watch.requestProgress({ timeout: 60_000 });
   */
  requestProgress(options?: CallOptions): Promise<number>;
  /** Each answer of etcd: the events of one or more revisions, or a progress notification. */
  responses(): AsyncGenerator<WatchResponse, void, undefined>;
  /** The events, one by one, in revision order: `for await (const event of watch)`. */
  [Symbol.asyncIterator](): AsyncGenerator<WatchEvent, void, undefined>;
  /** Stops the watch; a pending iteration ends. Events not yet read are dropped. */
  close(): void;
  /** `await using watch = etcd.watch(...)`: closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** @internal A watch's implementation: what `Watch` shows, and what the shared stream calls on it. */
export class WatchHandle implements Watch, WatchMember {
  readonly spec: WatchCreateSpec;
  readonly keyspace: Keyspace;
  readonly stallTimeout: number | undefined;
  /** Resolves once etcd has created the watcher: changes made after that are surely seen. */
  readonly ready: Promise<void>;
  /** How many times the connection broke and this watcher was resumed. */
  reconnects = 0;
  /** Why the stream last failed, for `ready`'s timeout. */
  private lastFailure: unknown;
  private next: number;
  private readonly stream: WatchStream;
  private readonly maxBuffered: number;
  private readonly onReconnect: ((info: ReconnectInfo) => void) | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly queue: WatchResponse[] = [];
  private head = 0;
  private buffered = 0;
  private parked = false;
  private closed = false;
  private error: EtcdError | undefined;
  private waiter: { resolve: (value: WatchResponse | undefined) => void; reject: (error: unknown) => void } | undefined;
  private readyState: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  private readyTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly transport: Transport;
  private readonly progressWaiters = new Set<ProgressWaiter>();
  private readonly onAbort = () =>
    this.fail(new AbortedError('the watch was aborted', { path: '/v3/watch', cause: this.signal?.reason }));

  /** Use `etcd.watch(options)`. */
  constructor(stream: WatchStream, keyspace: Keyspace, options: WatchOptions, transport: Transport) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(`watch options must be an object, got ${describe(options)}`);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`signal must be an AbortSignal, got ${describe(options.signal)}`);
    }
    checkFilters(options.filters);
    this.stream = stream;
    this.transport = transport;
    this.keyspace = keyspace;
    this.spec = {
      range: keyspace.encode(options),
      prevKv: options.prevKv === true,
      noPut: options.filters?.noPut === true,
      noDelete: options.filters?.noDelete === true,
      progressNotify: options.progressNotify === true,
      fragment: options.fragment !== false,
    };
    this.next = options.startRevision === undefined ? 0 : checkCount(options.startRevision, 'startRevision');
    if (options.stallTimeout !== undefined && !(options.stallTimeout > 0)) {
      throw new InvalidArgumentError(
        `stallTimeout must be a positive number of milliseconds, got ${describe(options.stallTimeout)}`,
      );
    }
    this.stallTimeout = this.spec.progressNotify ? (options.stallTimeout ?? DEFAULT_STALL_TIMEOUT) : undefined;
    this.maxBuffered = options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED;
    if (!Number.isSafeInteger(this.maxBuffered) || this.maxBuffered < 1) {
      throw new InvalidArgumentError(
        `maxBufferedEvents must be a positive integer, got ${describe(options.maxBufferedEvents)}`,
      );
    }
    const readyTimeout = options.readyTimeout ?? stream.timeout;
    if (typeof readyTimeout !== 'number' || !(readyTimeout > 0)) {
      throw new InvalidArgumentError(
        `readyTimeout must be a positive number of milliseconds, got ${describe(options.readyTimeout)}`,
      );
    }
    this.onReconnect = options.onReconnect;
    this.signal = options.signal;
    this.ready = new Promise<void>((resolve, reject) => (this.readyState = { resolve, reject }));
    this.ready.catch(() => {});
    if (this.signal?.aborted) {
      this.onAbort();
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.armReady(readyTimeout);
    stream.add(this);
  }

  /** The revision everything up to which has been delivered (0 before the first answer). */
  get revision(): number {
    return Math.max(0, this.next - 1);
  }

  /** The first revision not yet delivered; where a resume starts. */
  get nextRevision(): number {
    return this.next;
  }

  get wantsStream(): boolean {
    return !this.closed && !this.parked;
  }

  /**
   * Resolves, with the revision this watch is current to, once it has delivered every change up
   * to the store's revision at the time of the call (read with a count-only range of the
   * watched keys): Go's `RequestProgress`, for one watch. Delivered means queued for the
   * consumer, in order, so a `responses()` reader sees those changes before anything later.
   * A watch that has seen the latest revision answers at once. Otherwise it waits for a change
   * under it or a progress notification (`progressNotify`). etcd's own progress request cannot
   * serve here: etcd 3.4.23 answers it ahead of the changes a watcher still has to catch up on,
   * and 3.5 to 3.7 drop it unanswered while any watcher of the stream is catching up or was
   * resumed at the next revision (measured on 3.5.36, 3.6.17, 3.7.4), and a fetch stream cannot
   * send one later. Without a change or a notification, it ends with `TimeoutError` after
   * `timeout` (default: the client's).
   *
   * @example
   * const watch = etcd.watch({ prefix: 'jobs/', progressNotify: true });
   * const revision = await watch.requestProgress({ timeout: 60_000 });
   */
  async requestProgress(options: CallOptions = {}): Promise<number> {
    const wire = await this.transport.request(
      '/kv/range',
      { ...this.spec.range, count_only: true },
      { ...options, idempotent: true },
    );
    const target = decodeHeader(wire.header).revision;
    if (this.error !== undefined) throw this.error;
    if (this.closed) throw new AbortedError('the watch was closed', { path: '/v3/watch' });
    if (this.revision >= target) return this.revision;
    const ms = options.timeout ?? this.stream.timeout;
    return new Promise<number>((resolve, reject) => {
      const waiter: ProgressWaiter = {
        target,
        settle: (error) => {
          this.progressWaiters.delete(waiter);
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          if (error === undefined) resolve(this.revision);
          else reject(error);
        },
      };
      const hint = 'no change under it and no progress notification came (see progressNotify)';
      const timer = setTimer(
        () =>
          waiter.settle(
            new TimeoutError(`the watch did not reach revision ${target} within ${ms} ms: ${hint}`, {
              path: '/v3/watch',
            }),
          ),
        ms,
      );
      const onAbort = () =>
        waiter.settle(
          new AbortedError('requestProgress was aborted', { path: '/v3/watch', cause: options.signal?.reason }),
        );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.progressWaiters.add(waiter);
      if (options.signal?.aborted) onAbort();
    });
  }

  /** Each answer of etcd: the events of one or more revisions, or a progress notification. */
  async *responses(): AsyncGenerator<WatchResponse, void, undefined> {
    try {
      for (;;) {
        const response = await this.take();
        if (response === undefined) return;
        yield response;
      }
    } finally {
      this.close();
    }
  }

  /** The events, one by one, in revision order: `for await (const event of watch)`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent, void, undefined> {
    // The same loop as `responses()`, without a second generator and a `yield*` per event.
    try {
      for (;;) {
        const response = await this.take();
        if (response === undefined) return;
        for (const event of response.events) yield event;
      }
    } finally {
      this.close();
    }
  }

  /** Stops the watch; a pending iteration ends. Events not yet read are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.buffered = 0;
    this.release();
    this.readyState?.reject(new AbortedError('the watch was closed before etcd created it', { path: '/v3/watch' }));
    this.readyState = undefined;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(undefined);
  }

  /** `await using watch = etcd.watch(...)`: closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // WatchMember: called by the shared stream.

  /** @internal */
  created(headerRevision: number): void {
    // A watcher that started "now" sees every change after the revision etcd created it at.
    if (this.next === 0) this.next = headerRevision + 1;
    clearTimeout(this.readyTimer);
    this.readyState?.resolve();
    this.readyState = undefined;
  }

  /** @internal */
  deliver(events: WatchEvent[]): void {
    // A resumed stream never repeats a revision, but a duplicate must not reach the caller.
    const fresh = events[0]!.revision >= this.next ? events : events.filter((e) => e.revision >= this.next);
    if (fresh.length === 0) return;
    const revision = fresh[fresh.length - 1]!.revision;
    this.next = revision + 1;
    this.push({ revision, events: fresh, progress: false }, fresh.length);
    this.settleProgress();
  }

  /** @internal */
  progress(revision: number): void {
    if (revision < this.next - 1) return;
    this.next = revision + 1;
    this.push({ revision, events: [], progress: true }, 1);
    this.settleProgress();
  }

  /** @internal */
  fail(error: EtcdError): void {
    if (this.closed) return;
    this.closed = true;
    this.error = error;
    this.release();
    this.readyState?.reject(error);
    this.readyState = undefined;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  /** @internal */
  reconnecting(info: ReconnectInfo): void {
    this.reconnects++;
    this.lastFailure = info.error;
    try {
      this.onReconnect?.(info);
    } catch {
      // A throwing observer must not stop the watch.
    }
  }

  private push(response: WatchResponse, cost: number): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve(response);
      return;
    }
    this.queue.push(response);
    this.buffered += cost;
    if (this.buffered >= this.maxBuffered && !this.parked) {
      this.parked = true;
      this.stream.refresh(this);
    }
  }

  private take(): Promise<WatchResponse | undefined> {
    if (this.head < this.queue.length) {
      const response = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      if (this.head >= COMPACT_QUEUE_AT && this.head * 2 >= this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.buffered -= Math.max(1, response.events.length);
      if (this.parked && !this.closed && this.buffered <= this.maxBuffered / 2) {
        this.parked = false;
        this.stream.refresh(this);
      }
      return Promise.resolve(response);
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** `ready`'s deadline: a watcher etcd has not created in time ends with `TimeoutError`. */
  private armReady(ms: number): void {
    this.readyTimer = setTimer(() => {
      if (this.readyState === undefined) return;
      // What the last attempt hit (a wrong endpoint), and advice about edge workers only in one.
      const last = this.lastFailure instanceof EtcdError ? this.lastFailure : undefined;
      const hit = last === undefined ? '' : `: the last attempt failed: ${last.message}`;
      const hint = inEdgeWorker()
        ? ' (in an edge worker, a request cannot use a connection that another request opened: create and read each watch in the same request)'
        : '';
      this.fail(
        new TimeoutError(`etcd did not create the watcher within ${ms} ms${hit}${hint}`, {
          path: '/v3/watch',
          endpoint: last?.endpoint,
          cause: last,
        }),
      );
    }, ms);
  }

  private settleProgress(): void {
    for (const waiter of this.progressWaiters) if (this.revision >= waiter.target) waiter.settle();
  }

  private release(): void {
    const ended = this.error ?? new AbortedError('the watch was closed', { path: '/v3/watch' });
    for (const waiter of this.progressWaiters) waiter.settle(ended);
    clearTimeout(this.readyTimer);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.stream.remove(this);
  }
}

const FILTERS: ReadonlySet<string> = /* @__PURE__ */ new Set(['noPut', 'noDelete']);

/** `filters` is an object of known boolean flags, or absent. */
function checkFilters(filters: unknown): void {
  if (filters === undefined) return;
  if (typeof filters !== 'object' || filters === null || Array.isArray(filters)) {
    throw new InvalidArgumentError(`filters must be an object such as { noDelete: true }, got ${describe(filters)}`);
  }
  for (const [name, value] of Object.entries(filters)) {
    if (!FILTERS.has(name))
      throw new InvalidArgumentError(`filters has no option ${JSON.stringify(name)} (known: noPut, noDelete)`);
    if (value !== undefined && typeof value !== 'boolean')
      throw new InvalidArgumentError(`filters.${name} must be a boolean, got ${describe(value)}`);
  }
}

/**
 * Watches a key, prefix or range: `for await (const event of watch(core, { prefix }))`. Every
 * watcher of a client shares one connection.
 *
 * @example
 * ```ts
 * for await (const event of watch(core, { prefix: 'config/' })) console.log(event.type, event.kv.keyText);
 * ```
 */
export function watch(client: Client, options: WatchOptions): Watch {
  const core = coreOf(client);
  return new WatchHandle(watchStreamOf(core), core.keyspace, options, core.transport);
}
