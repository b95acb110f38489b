import { toByteArray } from 'base64-js';
import type { WireObject } from '../core/call-options.ts';

/** The keys a wire request touches: `[start, end)`, or the single key `start` when `end` is undefined. */
export interface KeyRange {
  readonly start: Uint8Array;
  readonly end: Uint8Array | undefined;
}

/** The key range of a wire range, put or deleterange request (`key` and `range_end`, base64). */
export function rangeOf(request: WireObject): KeyRange {
  const start = toByteArray(String(request.key ?? ''));
  const end = typeof request.range_end === 'string' ? toByteArray(request.range_end) : undefined;
  return { start, end };
}

/** True when two key ranges share a key (a `range_end` of `\0` means "to the end of the keyspace"). */
export function overlaps(a: KeyRange, b: KeyRange): boolean {
  return compare(a.start, endOf(b)) < 0 && compare(b.start, endOf(a)) < 0;
}

/** The exclusive end: the key itself followed by a zero byte, or the range's end. */
function endOf(range: KeyRange): Uint8Array | undefined {
  if (range.end === undefined) {
    const end = new Uint8Array(range.start.length + 1);
    end.set(range.start);
    return end;
  }
  return range.end.length === 1 && range.end[0] === 0 ? undefined : range.end;
}

/** Byte order; an undefined `b` is the end of the keyspace, after every key. */
function compare(a: Uint8Array, b: Uint8Array | undefined): number {
  if (b === undefined) return -1;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
