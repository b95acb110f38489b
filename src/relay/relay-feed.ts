import type { KeySelector } from '../core/keyspace.ts';
import { setRepeating } from '../core/timers.ts';
import type { ReconnectInfo, Watch, WatchEvent, WatchOptions } from '../watch/watch.ts';
import { encodeRelayEvent, eventId, lastEvent, resumePoint } from './relay-event.ts';
import type { HubSubscriber, RelayHub, Watchable } from './relay-hub.ts';
import type { PoolMember, RelayPool } from './relay-pool.ts';
import type { HubEntry } from './relay-ring.ts';
import { type ByteSink, flushSoon } from './relay-sink.ts';
import { UpstreamHealth } from './upstream-health.ts';

export type { Watchable } from './relay-hub.ts';

export interface FeedOptions {
  etcd: Watchable;
  selector: KeySelector;
  prevKv: boolean;
  /** Where the watch starts (undefined: now), how many events of that revision to skip, and the id resumed after. */
  startRevision: number | undefined;
  skip: number;
  resumedAfter: string | undefined;
  maxBytes: number;
  pool: RelayPool;
  heartbeat: number;
  retry: number;
  /** The id as written on the wire (signed, or unchanged). */
  sign: (id: string) => string | Promise<string>;
  /** A hub event as written on the wire, id included: the same bytes for every client of a signer (at once when known). */
  encode: (entry: HubEntry) => Uint8Array | Promise<Uint8Array>;
  /** Share the pool's upstream watch of these keys with other clients (else: a watch of its own). */
  shared: boolean;
}

const encoder = /* @__PURE__ */ new TextEncoder();
const COMPACT_AT = 1_024;
/** Most bytes of waiting messages handed to the response body in one chunk. */
const MERGE_BYTES = 64 * 1024;

/**
 * One client of the relay: its etcd watch pumped into a queue of SSE text bounded in bytes, which
 * the response body reads (or, with a `ByteSink`, which the feed writes to the connection itself,
 * everything waiting as one write, no stream in between). The watch is read as fast as etcd
 * sends, so nothing piles up in it; the body's own queue holds nothing (high-water mark 0: a chunk
 * leaves only when the runtime asks for one; a sink that says it is full gets nothing more until
 * it drains). When the client has `maxBytes` waiting, the feed closes its watch (what etcd sends
 * meanwhile is dropped) and reopens it after the last queued event once the client has read half
 * of what waits: memory stays bounded, and nothing is lost or repeated.
 */
export class RelayFeed implements PoolMember, HubSubscriber {
  bytes = 0;
  /** The answer's body (undefined when the feed writes to a sink). */
  readonly body: ReadableStream<Uint8Array> | undefined;
  private readonly sink: ByteSink | undefined;
  /** The sink said it is full: nothing more is written until `drained`. */
  private full = false;
  /** Hub deliveries still in `chain`: while there are, later ones queue behind them. */
  private pending = 0;
  private readonly options: FeedOptions;
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private watch: Watch | undefined;
  /** The plain id of the last event queued: where a reopened watch resumes after. */
  private lastId: string | undefined;
  private parked = false;
  private ended = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** The shared upstream watch this client reads from, when it does. */
  private hub: RelayHub | undefined;
  /** The shared upstream watch this client is catching up to on a watch of its own, to rejoin it. */
  private following: RelayHub | undefined;
  /** That watch of its own, once it has sent `ready` (a hand-over before would lose it). */
  private catchUp: Watch | undefined;
  /** Bumped each time the client leaves its source: work queued for an older one is dropped. */
  private generation = 0;
  /** Whether joining the hub sends `event: ready`, and the events of the resume revision to skip. */
  private announce = false;
  private joinSkip = 0;
  /** Hub deliveries, in order (signing ids is asynchronous). */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: FeedOptions, sink?: ByteSink) {
    this.options = options;
    this.lastId = options.resumedAfter;
    this.sink = sink;
    this.body =
      sink === undefined
        ? new ReadableStream<Uint8Array>(
            {
              start: (controller) => {
                this.controller = controller;
                this.begin();
              },
              pull: (controller) => this.pull(controller),
              cancel: () => this.stop(),
            },
            { highWaterMark: 0 },
          )
        : undefined;
  }

  /** The reader went away: stop the watch and free everything. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.teardown();
  }

  /** The pool is over its budget and this client holds the most: cut it off. */
  disconnect(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.teardown();
    // Never closed yet: a feed that ended and was read to the end has left the pool.
    this.controller?.error(new Error('relay: the client fell too far behind'));
    this.sink?.destroy();
  }

  /** Starts the feed (a stream's feed starts when its body does; a sink's feed, when this is called). */
  begin(): void {
    this.options.pool.join(this);
    this.push(`retry: ${this.options.retry}\n\n`);
    this.heartbeat = setRepeating(() => {
      if (this.head === this.chunks.length && !this.ended) this.push(': heartbeat\n\n');
    }, this.options.heartbeat);
    this.start(this.options.startRevision, this.options.skip, true);
  }

  /** Reads from the shared upstream watch when it can serve this start, else from a watch of its own. */
  private start(startRevision: number | undefined, skip: number, first: boolean): void {
    const { etcd, selector, prevKv, pool, shared } = this.options;
    if (shared) {
      const hub = pool.upstream(etcd, selector, prevKv, this.options.heartbeat);
      this.announce = first;
      this.joinSkip = skip;
      if (startRevision === undefined ? hub.attach(this) : hub.rejoin(this, { startRevision, skip })) {
        this.hub = hub;
        return;
      }
      // From before the ring: a watch of its own catches up, then hands over to the hub.
      hub.follow(this);
      this.following = hub;
    }
    void this.run(startRevision, skip, first);
  }

  /**
   * Hands a catching-up client over to the hub once the ring holds every event after the last one
   * queued: the ring replays the rest, and the watch of its own closes before it queues more.
   */
  private rejoin(): void {
    const hub = this.following;
    const watch = this.catchUp;
    const point = resumePoint(this.lastId);
    if (
      hub === undefined ||
      watch === undefined ||
      watch !== this.watch ||
      point === undefined ||
      this.stopped ||
      this.parked
    )
      return;
    this.announce = false;
    if (!hub.rejoin(this, point)) return;
    this.following = undefined;
    this.catchUp = undefined;
    this.hub = hub;
    this.watch = undefined;
    watch.close();
  }

  // HubSubscriber: called by the shared upstream watch.

  joined(revision: number, replay: HubEntry[]): void {
    const announce = this.announce;
    const skip = this.joinSkip;
    this.enqueue(async (generation) => {
      if (announce) {
        // With events to replay, the id stays the one resumed after until they are queued.
        const plain = replay.length === 0 && skip === 0 ? String(revision) : undefined;
        const id = plain === undefined ? '' : `id: ${await this.options.sign(plain)}\n`;
        if (generation !== this.generation) return;
        if (plain !== undefined) this.lastId = plain;
        this.push(`${id}event: ready\ndata: ${JSON.stringify({ revision })}\n\n`);
      }
      await this.queueEntries(replay, generation);
    });
  }

  deliver(entries: HubEntry[]): void {
    // Nothing waiting to be signed: queued now, without a promise per client and delivery.
    let at = 0;
    if (this.pending === 0) {
      for (; at < entries.length; at++) {
        const data = this.options.encode(entries[at]!);
        if (data instanceof Promise) break;
        if (!this.queueOne(entries[at]!, data)) return;
      }
      if (at === entries.length) return;
    }
    const rest = at === 0 ? entries : entries.slice(at);
    this.enqueue((generation) => this.queueEntries(rest, generation));
  }

  end(last: string): void {
    this.enqueue(async () => {
      this.hub = undefined;
      this.finish(last);
    });
  }

  advanced(): void {
    this.rejoin();
  }

  private enqueue(work: (generation: number) => Promise<void>): void {
    const generation = this.generation;
    this.pending++;
    this.chain = this.chain
      .then(() => (generation === this.generation && !this.stopped ? work(generation) : undefined))
      .catch((error: unknown) => this.finish(lastEvent(error)))
      .finally(() => this.pending--);
  }

  /** Queues events the hub encoded; parks (leaves the hub) when the client fell behind. */
  private async queueEntries(entries: HubEntry[], generation: number): Promise<void> {
    for (const entry of entries) {
      const encoded = this.options.encode(entry);
      const data = encoded instanceof Promise ? await encoded : encoded;
      if (generation !== this.generation || this.stopped) return;
      if (!this.queueOne(entry, data)) return;
    }
  }

  /** Queues one hub event; false when the client fell behind (the feed parked: it left the hub). */
  private queueOne(entry: HubEntry, data: Uint8Array): boolean {
    if (this.stopped) return false;
    if (this.bytes > 0 && this.bytes + data.byteLength > this.options.maxBytes) return this.park();
    this.push(data);
    this.lastId = entry.id;
    return true;
  }

  /** Opens a watch and queues what it sends until it ends, fails, or the client falls behind. */
  private async run(startRevision: number | undefined, skip: number, first: boolean): Promise<void> {
    const { etcd, selector, prevKv } = this.options;
    // A watch reopened after a park, or resumed from an old id, replays up to 1 000 revisions per
    // etcd answer, of any number of events each: unsplit, one such answer can outgrow the watch
    // stream's line limit (failing every watch of the client) and this feed's byte bound.
    // Fragments keep each answer near etcd's --max-request-bytes; the watch still hands out
    // whole revisions, which the ids below rely on.
    let watch: Watch | undefined;
    try {
      // Inside the try: a watch that cannot even start ends this stream with `event: error`, never the process.
      const health = new UpstreamHealth(this.options.heartbeat);
      const onReconnect = (info: ReconnectInfo) => {
        const gone = health.failed(info);
        if (gone !== undefined && watch !== undefined && this.watch === watch) this.finish(lastEvent(gone));
      };
      watch = etcd.watch({
        ...selector,
        prevKv,
        fragment: true,
        onReconnect,
        ...(startRevision ? { startRevision } : {}),
      } as WatchOptions);
      this.watch = watch;
      await watch.ready;
      if (first && !(await this.ready(watch, startRevision, skip))) return;
      if (this.watch !== watch) return;
      if (this.following !== undefined) this.catchUp = watch;
      for await (const response of watch.responses()) {
        if (!(await this.queue(watch, response.events, skip))) return;
        // The events to skip belong to the first revision that comes, not to a progress answer.
        if (response.events.length > 0) skip = 0;
        this.rejoin();
      }
      if (this.watch === watch) this.finish('');
    } catch (error) {
      if (watch === undefined || this.watch === watch) this.finish(lastEvent(error));
    }
  }

  /** `event: ready`: every later change will arrive. False when the feed stopped meanwhile. */
  private async ready(watch: Watch, startRevision: number | undefined, skip: number): Promise<boolean> {
    if (startRevision === undefined) this.options.pool.firstRevision ??= watch.revision;
    // Once etcd has created the watch, its revision is a safe resume point even before any
    // event (unless a resume is still skipping into a revision: then the id must stay as it was).
    let id = '';
    if (skip === 0) {
      this.lastId = String(watch.revision);
      id = `id: ${await this.options.sign(this.lastId)}\n`;
    }
    if (this.watch !== watch) return false;
    this.push(`${id}event: ready\ndata: ${JSON.stringify({ revision: watch.revision })}\n\n`);
    return true;
  }

  /**
   * Queues the events of one answer of `watch`, skipping the first `skip` events of its first
   * revision. False when the feed stopped, the client fell behind (then the watch is closed), or
   * `watch` is no longer the feed's source: an answer it had already taken when the hub took the
   * client over is the hub's to send.
   */
  private async queue(watch: Watch, events: WatchEvent[], skip: number): Promise<boolean> {
    const first = events[0]?.revision;
    let index = -1;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      index = i > 0 && events[i - 1]!.revision === event.revision ? index + 1 : 0;
      if (event.revision === first && index < skip) continue;
      const id = eventId(event.revision, index, events[i + 1]?.revision !== event.revision);
      const data = encoder.encode(
        `id: ${await this.options.sign(id)}\nevent: ${event.type}\ndata: ${encodeRelayEvent(event)}\n\n`,
      );
      if (this.watch !== watch || this.stopped) return false;
      // One event always fits into an empty queue, however large.
      if (this.bytes > 0 && this.bytes + data.byteLength > this.options.maxBytes) return this.park();
      this.push(data);
      this.lastId = id;
    }
    return true;
  }

  /** The client fell behind: close the watch; `pull` reopens it once the client caught up. */
  private park(): false {
    this.parked = true;
    this.release();
    return false;
  }

  private unpark(): void {
    this.parked = false;
    const point = resumePoint(this.lastId);
    this.start(point?.startRevision, point?.skip ?? 0, false);
  }

  /** Leaves the source of events: closes the own watch, or leaves the hub. */
  private release(): void {
    this.generation++;
    this.watch?.close();
    this.watch = undefined;
    this.catchUp = undefined;
    const hub = this.hub ?? this.following;
    this.hub = undefined;
    this.following = undefined;
    hub?.detach(this);
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.head === this.chunks.length) {
      if (this.stopped || this.ended) {
        this.teardown();
        // On a stream already cancelled or errored this throws, and the stream ignores it.
        controller.close();
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    controller.enqueue(this.take());
    this.unparkIfRead();
  }

  private unparkIfRead(): void {
    if (this.parked && !this.stopped && this.bytes <= this.options.maxBytes / 2) this.unpark();
  }

  /**
   * Writes what waits to the sink, as few writes as possible, until it is full; then, once all is
   * written, ends the answer if the feed ended. Called soon after anything is queued, and on drain.
   */
  flush(): void {
    const sink = this.sink!;
    while (!this.full && this.head < this.chunks.length && !this.stopped) {
      if (!sink.write(this.take())) this.full = true;
      this.unparkIfRead();
    }
    if (this.ended && this.head === this.chunks.length && !this.stopped) {
      this.stopped = true;
      this.teardown();
      sink.end();
    }
  }

  /** The sink wrote what it held: write what waits. */
  drained(): void {
    this.full = false;
    this.flush();
  }

  private push(text: string | Uint8Array): void {
    if (this.stopped) return;
    const data = typeof text === 'string' ? encoder.encode(text) : text;
    this.chunks.push(data);
    this.bytes += data.byteLength;
    this.options.pool.grow(data.byteLength);
    this.wakeReader();
  }

  private wakeReader(): void {
    if (this.sink !== undefined) {
      if (!this.full) flushSoon(this);
      return;
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /**
   * What waits, as one chunk: a client that fell behind catches up in a few large writes rather
   * than one per event (one write per event to each of thousands of sockets is what a busy relay
   * cannot keep up with). One message alone goes as it is, without a copy.
   */
  private take(): Uint8Array {
    let end = this.head + 1;
    let size = this.chunks[this.head]!.byteLength;
    while (end < this.chunks.length && size + this.chunks[end]!.byteLength <= MERGE_BYTES)
      size += this.chunks[end++]!.byteLength;
    let chunk = this.chunks[this.head]!;
    if (end > this.head + 1) {
      chunk = new Uint8Array(size);
      for (let i = this.head, at = 0; i < end; at += this.chunks[i++]!.byteLength) chunk.set(this.chunks[i]!, at);
    }
    this.chunks.fill(undefined as never, this.head, end);
    this.head = end;
    if (this.head >= COMPACT_AT && this.head * 2 >= this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
    this.bytes -= size;
    this.options.pool.shrink(size);
    return chunk;
  }

  /** No more events will come: end the answer once the client has read what waits. */
  private finish(last: string): void {
    if (last !== '') this.push(last);
    this.ended = true;
    this.release();
    clearInterval(this.heartbeat);
    this.wakeReader();
  }

  private teardown(): void {
    clearInterval(this.heartbeat);
    this.release();
    this.options.pool.leave(this);
    this.chunks.length = 0;
    this.head = 0;
    this.bytes = 0;
    this.wakeReader();
  }
}
