import { toByteArray } from 'base64-js';
import type { WireObject } from '../core/call-options.ts';

/**
 * The keys a wire request touches: `[start, end)`, or the single key `start` when `end` is
 * undefined. Kept as the request's base64 (two single keys compare as text); the bytes are
 * decoded only when a range is compared.
 */
export class KeyRange {
  /** The base64 `key` of the request. */
  readonly key: string;
  /** The base64 `range_end`, when the request reads or deletes a range. */
  readonly rangeEnd: string | undefined;
  private startBytes: Uint8Array | undefined;
  private endBytes: Uint8Array | undefined;

  constructor(key: string, rangeEnd: string | undefined) {
    this.key = key;
    this.rangeEnd = rangeEnd;
  }

  get start(): Uint8Array {
    return (this.startBytes ??= toByteArray(this.key));
  }

  get end(): Uint8Array | undefined {
    return this.rangeEnd === undefined ? undefined : (this.endBytes ??= toByteArray(this.rangeEnd));
  }
}

/** The key range of a wire range, put or deleterange request (`key` and `range_end`, base64). */
export function rangeOf(request: WireObject): KeyRange {
  return new KeyRange(String(request.key ?? ''), typeof request.range_end === 'string' ? request.range_end : undefined);
}

/** True when two key ranges share a key (a `range_end` of `\0` means "to the end of the keyspace"). */
export function overlaps(a: KeyRange, b: KeyRange): boolean {
  // Base64 is canonical: two single keys are the same key when their text is the same.
  if (a.rangeEnd === undefined && b.rangeEnd === undefined) return a.key === b.key;
  return beforeEnd(a.start, b) && beforeEnd(b.start, a);
}

/** Whether `key` comes before the exclusive end of `range` (a single key's end is the key followed by `\0`). */
function beforeEnd(key: Uint8Array, range: KeyRange): boolean {
  const end = range.end;
  if (end === undefined) return compare(key, range.start) <= 0;
  if (end.length === 1 && end[0] === 0) return true;
  return compare(key, end) < 0;
}

/** Byte order. */
function compare(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Every key range a txn body compares, reads or writes, nested txns included; and whether it only reads. */
export function rangesOfTxn(body: WireObject): { ranges: KeyRange[]; readOnly: boolean } {
  const ranges: KeyRange[] = [];
  let readOnly = true;
  const walk = (txn: WireObject) => {
    for (const compare of (txn.compare as WireObject[] | undefined) ?? []) ranges.push(rangeOf(compare));
    for (const operation of [
      ...((txn.success as WireObject[] | undefined) ?? []),
      ...((txn.failure as WireObject[] | undefined) ?? []),
    ]) {
      if (operation.request_txn !== undefined) {
        walk(operation.request_txn as WireObject);
        continue;
      }
      const request = (operation.request_range ?? operation.request_put ?? operation.request_delete_range) as
        | WireObject
        | undefined;
      if (request === undefined) continue;
      if (operation.request_range === undefined) readOnly = false;
      ranges.push(rangeOf(request));
    }
  };
  walk(body);
  return { ranges, readOnly };
}

/** Every key (a compaction touches the whole history). */
export const EVERY_KEY = /* @__PURE__ */ new KeyRange('AA==', 'AA==');
