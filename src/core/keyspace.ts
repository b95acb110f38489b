import { asciiOf, type Bytes, concat, describe, encodeBase64, isAscii, prefixEnd, toBytes, ZERO_KEY } from './codec.ts';
import { InvalidArgumentError } from './errors.ts';

/**
 * Which keys a call touches: one key, a prefix, or the half-open range `[from, to)`.
 *
 * @example
 * ```ts
 * await etcd.range({ key: 'a' });
 * await etcd.range({ prefix: 'app/' });
 * await etcd.range({ from: 'a', to: 'm' }); // [a, m)
 * ```
 */
export type KeySelector =
  | { key: Bytes; prefix?: undefined; from?: undefined; to?: undefined }
  | { prefix: Bytes; key?: undefined; from?: undefined; to?: undefined }
  /** `to` omitted: every key from `from` on. */
  | { from: Bytes; to?: Bytes; key?: undefined; prefix?: undefined };

/** The wire form of a selector: base64 `key` and, for ranges, `range_end`. */
export type WireRange = { key: string; range_end?: string };

/**
 * Maps the caller's keys into etcd's keyspace and back: the identity for a plain client,
 * a prefix for `etcd.namespace('app/')`.
 *
 * @example
 * ```ts
 * const app = etcd.namespace('app/');
 * app.core.keyspace.key('color'); // the bytes of 'app/color'
 * ```
 */
export class Keyspace {
  readonly prefix: Uint8Array;
  /** The prefix as text when it is ASCII: an ASCII key then goes to base64 without bytes. */
  private readonly asciiPrefix: string | undefined;

  constructor(prefix: Uint8Array = new Uint8Array(0)) {
    this.prefix = prefix;
    this.asciiPrefix = asciiOf(prefix);
  }

  /** The full key on the wire for a caller's key. */
  key(key: Bytes): Uint8Array {
    const bytes = toBytes(key);
    return this.prefix.length === 0 ? bytes : concat(this.prefix, bytes);
  }

  /** The caller's view of a key read from etcd. */
  strip(key: Uint8Array): Uint8Array {
    return this.prefix.length === 0 ? key : key.subarray(this.prefix.length);
  }

  /** The end of this keyspace: `range_end` of "every key from here on". */
  end(): Uint8Array {
    return this.prefix.length === 0 ? ZERO_KEY : prefixEnd(this.prefix);
  }

  /** @internal */
  encode(selector: KeySelector): WireRange {
    if (typeof selector !== 'object' || selector === null) {
      throw new InvalidArgumentError(`expected { key }, { prefix } or { from, to }, got ${describe(selector)}`);
    }
    if (
      (selector.key !== undefined ? 1 : 0) +
        (selector.prefix !== undefined ? 1 : 0) +
        (selector.from !== undefined ? 1 : 0) >
      1
    ) {
      const given = (['key', 'prefix', 'from'] as const).filter((name) => selector[name] !== undefined);
      throw new InvalidArgumentError(`a selector takes one of key, prefix or from, got ${given.join(' and ')}`);
    }
    if (selector.to !== undefined && selector.from === undefined)
      throw new InvalidArgumentError('a selector with `to` needs `from`');
    if (selector.key !== undefined) {
      const text = selector.key;
      if (
        typeof text === 'string' &&
        this.asciiPrefix !== undefined &&
        text.length + this.asciiPrefix.length > 0 &&
        isAscii(text)
      ) {
        return { key: btoa(this.asciiPrefix + text) };
      }
      const key = this.key(selector.key);
      if (key.length === 0) throw new InvalidArgumentError('a key must not be empty');
      return { key: encodeBase64(key) };
    }
    if (selector.prefix !== undefined) {
      const start = this.key(selector.prefix);
      // The empty prefix means "every key": key \0 to the end (etcd refuses an empty key).
      if (start.length === 0) return { key: encodeBase64(ZERO_KEY), range_end: encodeBase64(ZERO_KEY) };
      return { key: encodeBase64(start), range_end: encodeBase64(prefixEnd(start)) };
    }
    if (selector.from !== undefined) {
      let start = this.key(selector.from);
      if (start.length === 0) start = ZERO_KEY;
      const end = selector.to === undefined ? this.end() : this.key(selector.to);
      return { key: encodeBase64(start), range_end: encodeBase64(end.length === 0 ? ZERO_KEY : end) };
    }
    throw new InvalidArgumentError('a selector needs one of key, prefix or from');
  }
}

const SELECTOR_FIELDS: ReadonlySet<string> = /* @__PURE__ */ new Set(['key', 'prefix', 'from', 'to']);

/**
 * A selector with nothing else in it: `range({ prefix }, { limit })` takes its options second, so a
 * `limit` left in the selector would otherwise be ignored without a word.
 */
export function selectorOnly(selector: KeySelector, call: string): KeySelector {
  if (typeof selector === 'object' && selector !== null && !(selector instanceof Uint8Array)) {
    const extra = Object.keys(selector).filter((name) => !SELECTOR_FIELDS.has(name));
    if (extra.length > 0)
      throw new InvalidArgumentError(
        `${call} takes the keys first and its options second (${call}({ prefix }, { ${extra.join(', ')} })); got ${extra.join(', ')} in the selector`,
      );
  }
  return selector;
}

/** The selector part of options that carry one (a watch's, a reflector's): key, prefix, from and to. */
export function selectorOf(options: KeySelector): KeySelector {
  const { key, prefix, from, to } = options;
  return { key, prefix, from, to } as KeySelector;
}

/** Accepts a bare key as shorthand for `{ key }`. */
export function toSelector(input: Bytes | KeySelector): KeySelector {
  return typeof input === 'string' || input instanceof Uint8Array ? { key: input } : input;
}
