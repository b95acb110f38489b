import { decodeBytes, describe, encodeBase64, toBytes, toTextStrict } from '../core/codec.ts';
import { InvalidArgumentError, MalformedResponseError, WatchCompactedError } from '../core/errors.ts';
import { KeyValue } from '../core/key-value.ts';
import type { KeySelector } from '../core/keyspace.ts';
import type { WatchEvent } from '../watch/watch.ts';

/**
 * How the relay writes one watch event as Server-Sent Events `data`: JSON whose bytes fields are
 * UTF-8 text when they are valid UTF-8, else `{ "base64": "..." }`.
 */
type WireBytes = string | { base64: string };
interface WireKeyValue {
  key: WireBytes;
  value: WireBytes;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}
interface WireEvent {
  type: 'put' | 'delete';
  revision: number;
  kv: WireKeyValue;
  prevKv?: WireKeyValue;
}

function encodeField(bytes: Uint8Array): WireBytes {
  return toTextStrict(bytes) ?? { base64: encodeBase64(bytes) };
}

function decodeField(field: unknown): Uint8Array {
  if (typeof field === 'string') return toBytes(field);
  if (typeof field === 'object' && field !== null && typeof (field as { base64?: unknown }).base64 === 'string') {
    return decodeBytes((field as { base64: string }).base64);
  }
  throw new MalformedResponseError('relay event has a bytes field that is neither text nor { base64 }');
}

function encodeKeyValue(kv: KeyValue): WireKeyValue {
  return {
    key: encodeField(kv.key),
    value: encodeField(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

function decodeKeyValue(wire: WireKeyValue): KeyValue {
  return new KeyValue(
    decodeField(wire.key),
    decodeField(wire.value),
    wire.createRevision,
    wire.modRevision,
    wire.version,
    String(wire.lease),
  );
}

export function encodeRelayEvent(event: WatchEvent): string {
  const wire: WireEvent = { type: event.type, revision: event.revision, kv: encodeKeyValue(event.kv) };
  if (event.prevKv) wire.prevKv = encodeKeyValue(event.prevKv);
  return JSON.stringify(wire);
}

export function decodeRelayEvent(data: string): WatchEvent {
  let wire: WireEvent;
  try {
    wire = JSON.parse(data) as WireEvent;
  } catch (cause) {
    throw new MalformedResponseError(`relay event is not JSON: ${JSON.stringify(data.slice(0, 80))}`, { cause });
  }
  if (
    (wire?.type !== 'put' && wire?.type !== 'delete') ||
    typeof wire.revision !== 'number' ||
    typeof wire.kv !== 'object'
  ) {
    throw new MalformedResponseError(`relay event has an unexpected shape: ${JSON.stringify(data.slice(0, 80))}`);
  }
  const event: WatchEvent = { type: wire.type, revision: wire.revision, kv: decodeKeyValue(wire.kv) };
  if (wire.prevKv) event.prevKv = decodeKeyValue(wire.prevKv);
  return event;
}

/**
 * The SSE `id` of an event: `R` for the last event of revision R, `R.i` for the i-th (from 0)
 * of several events sharing revision R, so a resume never repeats nor skips part of a revision.
 */
export function eventId(revision: number, index: number, last: boolean): string {
  return last ? String(revision) : `${revision}.${index}`;
}

/** Longest event id the relay reads: two safe integers and a dot. */
const MAX_ID_LENGTH = 33;
/** Longest id read at all, spaces around it included. */
const MAX_SENT_LENGTH = 256;

/** `text` without the spaces and tabs HTTP allows around a header value (not Unicode's other spaces). */
export function trimHttp(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === ' ' || text[start] === '\t')) start++;
  while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  return text.slice(start, end);
}

/**
 * Where to resume after the event with id `id` (`R` or `R.i`, decimal digits only): the start
 * revision, and how many of its events to skip. Anything else, or a revision or index past
 * 2^53 - 1 (whatever it becomes once resumed), is an `InvalidArgumentError`.
 */
export function parseEventId(id: string): { startRevision: number; skip: number } {
  // Checked before trimming: no regular expression runs over a long string.
  const text = typeof id === 'string' && id.length <= MAX_SENT_LENGTH ? trimHttp(id) : '';
  const match = text.length <= MAX_ID_LENGTH ? /^(\d+)(?:\.(\d+))?$/.exec(text) : null;
  if (match) {
    const revision = Number(match[1]);
    const point =
      match[2] === undefined
        ? { startRevision: revision + 1, skip: 0 }
        : { startRevision: revision, skip: Number(match[2]) + 1 };
    if (Number.isSafeInteger(point.startRevision) && Number.isSafeInteger(point.skip)) return point;
  }
  throw new InvalidArgumentError(
    `Last-Event-ID must be an event id this relay sent (R or R.i, at most 2^53 - 2), got ${describe(id)}`,
  );
}

/** `parseEventId`, or undefined for an id that is not one. */
export function resumePoint(id: string | null | undefined): { startRevision: number; skip: number } | undefined {
  if (typeof id !== 'string') return undefined;
  try {
    return parseEventId(id);
  } catch {
    return undefined;
  }
}

/** `event: compacted`: the watch cannot start as early as asked (`reason`: `resume-refused` when the relay will not replay that far back). */
export function compactedEvent(compactRevision: number, reason?: string): string {
  return `event: compacted\ndata: ${JSON.stringify({ compactRevision, reason })}\n\n`;
}

/** The event that ends a stream: `compacted`, or `error`. */
export function lastEvent(error: unknown): string {
  if (error instanceof WatchCompactedError) return compactedEvent(error.compactRevision);
  return `event: error\ndata: ${JSON.stringify({ name: (error as Error).name, message: (error as Error).message })}\n\n`;
}

/**
 * One string per set of keys watched, the same whether a key was given as text or bytes: what a
 * relay shares a watch by and signs its ids over.
 */
export function selectorKey(selector: KeySelector): string {
  return JSON.stringify(selector, (_, value: unknown) =>
    typeof value === 'string' || value instanceof Uint8Array ? encodeBase64(toBytes(value)) : value,
  );
}
