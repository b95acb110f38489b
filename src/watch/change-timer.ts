import { setTimer } from '../core/timers.ts';

/** What changed in the set of watchers a stream should carry. */
export type Change =
  /** A watcher the stream does not carry wants it (a new watcher, or one stepping back on). */
  | 'join'
  /** The stream carries a watcher that no longer wants it (closed, or its consumer is behind). */
  | 'leave'
  /** Apply at the next tick: the first watcher of an idle stream, or the last one left. */
  | 'now';

/** A join waits this long for more changes, so a burst of joins costs one reopen. */
export const JOIN_QUIET_MS = 10;
/** ... but never longer than this after the first join waiting. */
export const JOIN_MAX_WAIT_MS = 200;
/**
 * Leaves need no reopen to be correct (the stream keeps carrying the leavers and their messages
 * are dropped): they wait for a longer quiet period, so closing many watchers one by one costs
 * one reopen, and the stream stops carrying them after a while.
 */
export const LEAVE_QUIET_MS = 1_000;
export const LEAVE_MAX_WAIT_MS = 10_000;

/**
 * Coalesces changes to the set of watchers into one call of `apply`: after a quiet period
 * without further changes (short for joins, longer for leaves), or at most a maximum wait after
 * the first change that waits, or at the next tick for `now`.
 */
export class ChangeTimer {
  private readonly apply: () => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private now = false;
  private joinSince: number | undefined;
  private leaveSince: number | undefined;
  private lastChange = 0;

  constructor(apply: () => void) {
    this.apply = apply;
  }

  change(kind: Change): void {
    const now = Date.now();
    this.lastChange = now;
    if (kind === 'now') this.now = true;
    else if (kind === 'join') this.joinSince ??= now;
    else this.leaveSince ??= now;
    clearTimeout(this.timer);
    this.timer = setTimer(() => this.fire(), this.due() - now);
  }

  /** Forgets what waits (the stream is closing). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.now = false;
    this.joinSince = this.leaveSince = undefined;
  }

  private due(): number {
    if (this.now) return 0;
    let due = Infinity;
    if (this.joinSince !== undefined)
      due = Math.min(this.lastChange + JOIN_QUIET_MS, this.joinSince + JOIN_MAX_WAIT_MS);
    if (this.leaveSince !== undefined)
      due = Math.min(due, this.lastChange + LEAVE_QUIET_MS, this.leaveSince + LEAVE_MAX_WAIT_MS);
    return due;
  }

  private fire(): void {
    this.cancel();
    this.apply();
  }
}
