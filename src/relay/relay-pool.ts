import { checkCount } from '../core/codec.ts';

/** A relay client as the pool sees it: the bytes it holds, and how to cut it off. */
export interface PoolMember {
  /** Bytes of SSE text waiting for this client. */
  readonly bytes: number;
  /** Ends this client's answer at once and frees what it holds (its reader sees a broken stream). */
  disconnect(): void;
}

export interface RelayPoolOptions {
  /** Bytes that all clients of the pool together may have waiting (64 MiB). */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * What the relays of one worker (or server) share: a budget of waiting bytes over all their
 * clients, and the revision at which the first of them was asked for a watch (the oldest point a
 * plain `Last-Event-ID` may resume from). When the clients together hold more than `maxBytes`,
 * the one holding the most is disconnected: its memory is freed at once, and a reader that is
 * still there reconnects with its `Last-Event-ID` and loses nothing.
 */
export class RelayPool {
  readonly maxBytes: number;
  /** The store revision at which this pool first served a watch (undefined before that). */
  firstRevision: number | undefined;
  /** How many clients were disconnected because the pool was full. */
  disconnects = 0;
  private total = 0;
  private readonly members = new Set<PoolMember>();

  constructor(options: RelayPoolOptions = {}) {
    this.maxBytes = checkCount(options.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes');
  }

  /** Bytes waiting over all clients of the pool. */
  get bufferedBytes(): number {
    return this.total;
  }

  join(member: PoolMember): void {
    this.members.add(member);
  }

  leave(member: PoolMember): void {
    if (this.members.delete(member)) this.total -= member.bytes;
  }

  /** `member` now holds `bytes` more; past the budget, the largest holders are disconnected. */
  grow(bytes: number): void {
    this.total += bytes;
    while (this.total > this.maxBytes) {
      let largest: PoolMember | undefined;
      for (const member of this.members) if (largest === undefined || member.bytes > largest.bytes) largest = member;
      if (largest === undefined) return;
      this.disconnects++;
      this.leave(largest);
      largest.disconnect();
    }
  }

  /** A client handed `bytes` to its reader. */
  shrink(bytes: number): void {
    this.total -= bytes;
  }
}

/** The pool of relays that pass none: one per worker isolate (or process). */
export const defaultPool = new RelayPool();
