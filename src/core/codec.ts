import { fromByteArray, toByteArray } from 'base64-js';
import { InvalidArgumentError, MalformedResponseError } from './errors.ts';

/**
 * A key or value: bytes, or a string taken as UTF-8.
 *
 * @example
 * ```ts
 * await etcd.put('text/key', 'UTF-8 text');
 * await etcd.put(new Uint8Array([0xff, 0x00]), new Uint8Array([1, 2, 3]));
 * ```
 */
export type Bytes = string | Uint8Array;

const encoder = /* @__PURE__ */ new TextEncoder();
// ignoreBOM: a key or value that starts with U+FEFF keeps it (a decoder drops it by default).
const strictDecoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientDecoder = /* @__PURE__ */ new TextDecoder('utf-8', { ignoreBOM: true });
const EMPTY = /* @__PURE__ */ new Uint8Array(0);

/**
 * The bytes of a key or value: a string as UTF-8, a `Uint8Array` as is; anything else is an `InvalidArgumentError` naming `what`.
 *
 * @example
 * ```ts
 * toBytes('é'); // Uint8Array [0xc3, 0xa9]
 * ```
 */
export function toBytes(input: Bytes, what = 'key'): Uint8Array {
  if (typeof input === 'string') return encoder.encode(input);
  if (input instanceof Uint8Array) return input;
  throw new InvalidArgumentError(`${what} must be a string or a Uint8Array, got ${describe(input)}`);
}

/** UTF-8 text of bytes; invalid sequences become U+FFFD. */
export function toText(bytes: Uint8Array): string {
  return lenientDecoder.decode(bytes);
}

/** UTF-8 text of bytes, or undefined when they are not valid UTF-8. */
export function toTextStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function encodeBase64(bytes: Uint8Array): string {
  return fromByteArray(bytes);
}

/** Text that is its own UTF-8: every character below U+0080. */
const ASCII = /^[\x00-\x7f]*$/;

export function encodeBytes(input: Bytes, what?: string): string {
  // ASCII text needs no byte array: the native btoa encodes it as it is.
  if (typeof input === 'string' && ASCII.test(input)) return btoa(input);
  return fromByteArray(toBytes(input, what));
}

/** The bytes as a string of one char per byte when every byte is ASCII, else undefined. */
export function asciiOf(bytes: Uint8Array): string | undefined {
  let text = '';
  for (const byte of bytes) {
    if (byte > 0x7f) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Whether `text` is ASCII, so that its UTF-8 bytes are its chars. */
export function isAscii(text: string): boolean {
  return ASCII.test(text);
}

/** Decodes a base64 field of an answer; a missing field is the empty byte string. */
export function decodeBytes(field: unknown): Uint8Array {
  if (field === undefined || field === null || field === '') return EMPTY;
  if (typeof field !== 'string') throw new MalformedResponseError(`expected base64 text, got ${describe(field)}`);
  try {
    return toByteArray(field);
  } catch (cause) {
    throw new MalformedResponseError('invalid base64 in answer', { cause });
  }
}

/**
 * Reads an int64 field (a decimal string on the wire, missing when zero) as a number,
 * refusing values a double cannot hold exactly.
 */
export function decodeInt(field: unknown, what = 'integer'): number {
  if (field === undefined || field === null) return 0;
  const n =
    typeof field === 'number' ? field : typeof field === 'string' && /^-?\d+$/.test(field) ? Number(field) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new MalformedResponseError(`${what} ${describe(field)} is not an integer within ±2^53`);
  }
  return n;
}

/** Reads a 64-bit ID (lease, member, cluster) as a decimal string; "0" when missing. */
export function decodeId(field: unknown, what = 'ID'): string {
  if (field === undefined || field === null) return '0';
  if (typeof field === 'number' && Number.isSafeInteger(field)) return String(field);
  if (typeof field === 'string' && /^-?\d+$/.test(field)) return field;
  throw new MalformedResponseError(`${what} ${describe(field)} is not a decimal integer`);
}

/** Checks a 64-bit ID given by a caller and returns it in wire form (a decimal string). */
export function encodeId(id: string | number | bigint, what = 'ID'): string {
  const text =
    typeof id === 'bigint' ? id.toString() : typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
  if (typeof text !== 'string' || !/^-?\d+$/.test(text) || BigInt(text) >= 2n ** 64n || BigInt(text) < -(2n ** 63n)) {
    throw new InvalidArgumentError(
      `${what} must be a 64-bit integer (decimal string, safe integer or bigint), got ${describe(id)}`,
    );
  }
  return text;
}

/** Checks a non-negative integer argument (revision, limit, TTL, version). */
export function checkCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative safe integer, got ${describe(value)}`);
  }
  return value;
}

export function decodeBool(field: unknown): boolean {
  return field === true;
}

/** The bytes of `a` followed by those of `b`. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The smallest key greater than every key that starts with `prefix`: the prefix's `range_end`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return ZERO_KEY;
}

/** `\0`: as a key, the first of all keys; as a `range_end`, "to the end of the keyspace". */
export const ZERO_KEY = /* @__PURE__ */ new Uint8Array([0]);

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return `${typeof value} ${String(value)}`;
}

/** Reads a JSON object field that must be an array when present. */
export function decodeArray(field: unknown, what: string): unknown[] {
  if (field === undefined || field === null) return [];
  if (!Array.isArray(field)) throw new MalformedResponseError(`${what} must be an array, got ${describe(field)}`);
  return field;
}

export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedResponseError(`${what} must be a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}
