/** One event as a hub sends it: encoded once, written to every subscriber. */
export interface HubEntry {
  /** The plain SSE id (`R` or `R.i`). */
  readonly id: string;
  readonly revision: number;
  /** Its place among the events of its revision (from 0). */
  readonly index: number;
  /** `event: <type>\ndata: <json>\n\n`, for a subscriber that signs its ids. */
  readonly text: string;
  /** The whole SSE message with the plain id, as bytes. */
  readonly plain: Uint8Array;
}

/**
 * The recent events of a hub, bounded in count and bytes: what a `Last-Event-ID` resume is served
 * from without a new upstream watch. `floor` is the oldest start revision it can serve whole.
 */
export class EventRing {
  /** The oldest start revision the ring can serve (every event from it on is held). */
  floor: number;
  private readonly entries: HubEntry[] = [];
  private head = 0;
  private bytes = 0;
  private readonly maxCount: number;
  private readonly maxBytes: number;

  constructor(floor: number, maxCount: number, maxBytes: number) {
    this.floor = floor;
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  add(entry: HubEntry): void {
    this.entries.push(entry);
    this.bytes += sizeOf(entry);
    while (
      this.entries.length - this.head > this.maxCount ||
      (this.bytes > this.maxBytes && this.entries.length - this.head > 0)
    )
      this.evict();
  }

  /** The events from revision `start` on, skipping the first `skip` of `start`; undefined when the ring no longer holds them. */
  since(start: number, skip: number): HubEntry[] | undefined {
    if (start < this.floor) return undefined;
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.entries[middle]!.revision < start) low = middle + 1;
      else high = middle;
    }
    const found = this.entries.slice(low);
    return found.filter((entry) => entry.revision !== start || entry.index >= skip);
  }

  private evict(): void {
    const entry = this.entries[this.head]!;
    this.entries[this.head++] = undefined as never;
    this.bytes -= sizeOf(entry);
    this.floor = Math.max(this.floor, entry.revision + 1);
    if (this.head >= 1_024 && this.head * 2 >= this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}

function sizeOf(entry: HubEntry): number {
  return entry.plain.byteLength + entry.text.length * 2;
}
