import type { KeySelector } from '../core/keyspace.ts';
import { setTimer } from '../core/timers.ts';
import type { ReconnectInfo, Watch, WatchEvent, WatchOptions } from '../watch/watch.ts';
import { encodeRelayEvent, eventId, lastEvent, selectorKey } from './relay-event.ts';
import { EventRing, type HubEntry } from './relay-ring.ts';
import { UpstreamHealth } from './upstream-health.ts';

/**
 * What the relay needs of a client: `etcd.watch`.
 *
 * @example
 * ```ts
 * const etcd: Watchable = new Etcd(optionsFromEnv(env));
 * return relayWatch(etcd, request, { prefix: 'dashboard/' });
 * ```
 */
export interface Watchable {
  /** Opens a watch (what `etcd.watch` does). */
  watch(options: WatchOptions): Watch;
}

/** A relay client as a hub sees it. */
export interface HubSubscriber {
  /** In place: every event after `revision` arrives, `replay` first (the ring's events after the resume point). */
  joined(revision: number, replay: HubEntry[]): void;
  /** The events of one etcd answer, whole revisions. */
  deliver(entries: HubEntry[]): void;
  /** The upstream watch ended (`last`: the SSE event that says why, or ''). */
  end(last: string): void;
  /** The hub published more: a subscriber catching up on a watch of its own may now `rejoin`. */
  advanced(): void;
}

export interface HubLimits {
  ringEvents: number;
  ringBytes: number;
  /** Milliseconds the upstream watch stays open after its last subscriber left. */
  linger: number;
}

/** What the pool learns from a hub: the revision its watch started at, and that it closed. */
export interface HubHooks {
  ready(revision: number): void;
  closed(): void;
}

const encoder = /* @__PURE__ */ new TextEncoder();

/**
 * One upstream etcd watch shared by every relay client of the same keys and options in a pool:
 * each event is encoded once and handed to every subscriber, and kept in a ring of recent events
 * that serves resumes. Opened by the first subscriber, closed `linger` ms after the last left.
 */
export class RelayHub {
  closed = false;
  private watch: Watch | undefined;
  private ring: EventRing | undefined;
  /** The revision up to which every event has been published. */
  private head = 0;
  private readonly members = new Set<HubSubscriber>();
  /** Subscribers that joined before etcd created the watch. */
  private readonly waiting = new Set<HubSubscriber>();
  /** Subscribers catching up on a watch of their own, to be handed over to the ring (they keep the hub open). */
  private readonly followers = new Set<HubSubscriber>();
  private linger: ReturnType<typeof setTimeout> | undefined;

  private readonly etcd: Watchable;
  private readonly options: WatchOptions;
  private readonly limits: HubLimits;
  private readonly hooks: HubHooks;
  /** Milliseconds of failing to reach etcd after which the upstream counts as gone (its subscribers end). */
  private readonly upstreamWindow: number;

  constructor(etcd: Watchable, options: WatchOptions, limits: HubLimits, hooks: HubHooks, upstreamWindow = 15_000) {
    this.upstreamWindow = upstreamWindow;
    this.etcd = etcd;
    this.options = options;
    this.limits = limits;
    this.hooks = hooks;
  }

  get subscribers(): number {
    return this.members.size + this.waiting.size + this.followers.size;
  }

  /** Joins `subscriber` live, from now. False when the hub has closed. */
  attach(subscriber: HubSubscriber): boolean {
    if (this.closed) return false;
    this.stopLinger();
    if (this.ring !== undefined) return this.admit(subscriber, this.head, []);
    this.waiting.add(subscriber);
    this.openOnce();
    return true;
  }

  /**
   * Joins `subscriber` after a resume point, when the ring holds every event after it (they are
   * replayed first): a resume, or the hand-over of a follower that caught up. False, changing
   * nothing, when it does not (yet).
   */
  rejoin(subscriber: HubSubscriber, point: { startRevision: number; skip: number }): boolean {
    if (this.closed || this.ring === undefined || point.startRevision > this.head + 1) return false;
    const replay = this.ring.since(point.startRevision, point.skip);
    if (replay === undefined) return false;
    this.followers.delete(subscriber);
    this.stopLinger();
    return this.admit(subscriber, this.head, replay);
  }

  /**
   * `subscriber` resumes from before the ring on a watch of its own: the hub stays open (opening
   * if need be) and tells it each time it `advanced`, until it can `rejoin`.
   */
  follow(subscriber: HubSubscriber): void {
    if (this.closed) return;
    this.stopLinger();
    this.followers.add(subscriber);
    this.openOnce();
  }

  /** `subscriber` leaves, whether it was in place, waiting, or following. */
  detach(subscriber: HubSubscriber): void {
    this.members.delete(subscriber);
    this.waiting.delete(subscriber);
    this.followers.delete(subscriber);
    this.idle();
  }

  /** Closes the upstream watch now (its subscribers, if any, are ended). */
  close(): void {
    this.end('');
  }

  private admit(subscriber: HubSubscriber, revision: number, replay: HubEntry[]): true {
    this.members.add(subscriber);
    subscriber.joined(revision, replay);
    return true;
  }

  private openOnce(): void {
    if (this.watch === undefined) void this.open();
  }

  private async open(): Promise<void> {
    try {
      // Inside the try: a watch that cannot even start ends the hub's subscribers with `event: error`.
      const health = new UpstreamHealth(this.upstreamWindow);
      const onReconnect = (info: ReconnectInfo) => {
        const gone = health.failed(info);
        if (gone !== undefined && this.watch === watch) this.end(lastEvent(gone));
      };
      const watch = this.etcd.watch({ ...this.options, fragment: true, onReconnect });
      this.watch = watch;
      await watch.ready;
      if (this.closed) return;
      this.head = watch.revision;
      this.ring = new EventRing(watch.revision + 1, this.limits.ringEvents, this.limits.ringBytes);
      this.hooks.ready(watch.revision);
      const waiting = [...this.waiting];
      this.waiting.clear();
      for (const subscriber of waiting) this.admit(subscriber, this.head, []);
      this.tellFollowers();
      for await (const response of watch.responses()) {
        if (this.closed) return;
        this.publish(response.events, response.revision);
      }
      this.end('');
    } catch (error) {
      this.end(lastEvent(error));
    }
  }

  /** Encodes the events of one answer once, keeps them in the ring, and hands them to every subscriber. */
  private publish(events: WatchEvent[], revision: number): void {
    const entries: HubEntry[] = [];
    let index = -1;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      index = i > 0 && events[i - 1]!.revision === event.revision ? index + 1 : 0;
      const id = eventId(event.revision, index, events[i + 1]?.revision !== event.revision);
      const text = `event: ${event.type}\ndata: ${encodeRelayEvent(event)}\n\n`;
      const entry: HubEntry = {
        id,
        revision: event.revision,
        index,
        text,
        plain: encoder.encode(`id: ${id}\n${text}`),
      };
      entries.push(entry);
      this.ring!.add(entry);
    }
    this.head = Math.max(this.head, revision, events.at(-1)?.revision ?? 0);
    if (entries.length > 0) for (const subscriber of [...this.members]) subscriber.deliver(entries);
    this.tellFollowers();
  }

  private tellFollowers(): void {
    for (const follower of [...this.followers]) follower.advanced();
  }

  private end(last: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopLinger();
    this.watch?.close();
    this.watch = undefined;
    this.hooks.closed();
    const subscribers = [...this.members, ...this.waiting];
    this.members.clear();
    this.waiting.clear();
    // Followers read from watches of their own: they go on without the hub.
    this.followers.clear();
    for (const subscriber of subscribers) subscriber.end(last);
  }

  private idle(): void {
    if (this.subscribers > 0 || this.linger !== undefined || this.closed) return;
    // Never opened (a resume the ring could not serve): nothing to keep.
    if (this.watch === undefined) return this.end('');
    this.linger = setTimer(() => this.end(''), this.limits.linger);
  }

  private stopLinger(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
  }
}

/** The key of a hub within one client: the keys watched and the options. */
export function hubKey(selector: KeySelector, prevKv: boolean): string {
  return `${selectorKey(selector)}|prevKv=${prevKv}`;
}
