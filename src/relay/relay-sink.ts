import { setTimer } from '../core/timers.ts';

/**
 * Where a relay client's bytes go when the relay writes to the connection itself (see
 * `relayWatchNode`), with no Web stream in between.
 */
export interface ByteSink {
  /** Hands `bytes` to the connection; false when its buffer is full: nothing more until it drains. */
  write(bytes: Uint8Array): boolean;
  /** Ends the answer cleanly. */
  end(): void;
  /** Breaks the connection (its reader sees a broken stream and reconnects). */
  destroy(): void;
}

/** What a flush writes out: a feed writing to a sink. */
export interface Flushable {
  flush(): void;
}

/** Feeds with bytes waiting to be written on the next turn. */
let dirty = /* @__PURE__ */ new Set<Flushable>();
let scheduled = false;

/**
 * Writes `feed`'s waiting bytes on the next turn of the event loop (a timer, not a microtask): what
 * arrives meanwhile (several etcd answers read in one go, a hub's replay) goes out with it as one
 * write. A relay too busy to keep up thus writes fewer, larger chunks instead of falling behind.
 */
export function flushSoon(feed: Flushable): void {
  dirty.add(feed);
  if (scheduled) return;
  scheduled = true;
  setTimer(flushAll, 0);
}

function flushAll(): void {
  const feeds = dirty;
  dirty = new Set();
  scheduled = false;
  for (const feed of feeds) {
    try {
      feed.flush();
    } catch {
      // A connection that broke meanwhile: its close ends the feed; the others still get written.
    }
  }
}
