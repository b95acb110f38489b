// The codec's ASCII fast paths (btoa for ASCII text, one char per byte for ASCII bytes) must agree
// with TextEncoder on every string. A wrong bound (0xff instead of 0x7f) would store 'café' as
// Latin-1 bytes; random strings of a generic generator almost never draw U+0080-U+00FF, so these
// properties draw from every UTF-8 length class (1, 2, 3 and 4 bytes), weighted on U+0080-U+00FF,
// the class boundaries and surrogates (paired, at the pair boundaries, and lone).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { asciiOf, decodeBytes, encodeBytes, isAscii, toBytes, toText, toTextStrict } from '../../src/core/codec.ts';
import { decodeKeyValue } from '../../src/core/key-value.ts';
import { Keyspace } from '../../src/core/keyspace.ts';
import { Etcd } from '../../src/index.ts';

const utf8 = new TextEncoder();
const RUNS = 2_000;

const fromCode = (code: number) => String.fromCodePoint(code);
/** One code point per UTF-8 length class, with weight where fast paths and encoders go wrong. */
const oneByte = fc.oneof(fc.integer({ min: 0x00, max: 0x7f }), fc.constantFrom(0x00, 0x7e, 0x7f)).map(fromCode);
const twoBytes = fc
  .oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0x80, max: 0xff }) }, // Latin-1: what a 0xff bound breaks
    { weight: 1, arbitrary: fc.integer({ min: 0x100, max: 0x7ff }) },
    { weight: 1, arbitrary: fc.constantFrom(0x80, 0xe9, 0xff, 0x100, 0x7ff) },
  )
  .map(fromCode);
const threeBytes = fc
  .oneof(
    fc.integer({ min: 0x800, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0xffff }),
    fc.constantFrom(0x800, 0x2028, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff),
  )
  .map(fromCode);
const fourBytes = fc
  .oneof(fc.integer({ min: 0x10000, max: 0x10ffff }), fc.constantFrom(0x10000, 0x1f600, 0x10ffff))
  .map(fromCode);
/** Lone surrogates at the pair boundaries: TextEncoder writes U+FFFD for each. */
const loneSurrogate = fc.constantFrom(0xd800, 0xdbff, 0xdc00, 0xdfff).map((unit) => String.fromCharCode(unit));
const codePoint = fc.oneof(
  { weight: 3, arbitrary: oneByte },
  { weight: 3, arbitrary: twoBytes },
  { weight: 2, arbitrary: threeBytes },
  { weight: 2, arbitrary: fourBytes },
  { weight: 1, arbitrary: loneSurrogate },
);
const text = fc.array(codePoint, { maxLength: 24 }).map((points) => points.join(''));
/** Mostly ASCII with one non-ASCII char somewhere: the shape of 'café'. */
const nearlyAscii = fc
  .tuple(
    fc.array(oneByte, { maxLength: 12 }),
    fc.oneof(twoBytes, threeBytes, fourBytes, loneSurrogate),
    fc.array(oneByte, { maxLength: 12 }),
  )
  .map(([before, odd, after]) => `${before.join('')}${odd}${after.join('')}`);
const anyText = fc.oneof(text, nearlyAscii);

/** `s` with each lone surrogate replaced by U+FFFD, as TextEncoder reads it (String#toWellFormed, ES2024). */
const wellFormed = (s: string) => (s as unknown as { toWellFormed(): string }).toWellFormed();
const base64Bytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
const concat = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b]);

describe('UTF-8 of every length class, against TextEncoder', () => {
  test('the generator draws every class (so the properties below test them)', () => {
    const classes = new Set<string>();
    for (const sample of fc.sample(anyText, { numRuns: 500, seed: 1 })) {
      for (const char of sample) {
        const code = char.codePointAt(0)!;
        if (code >= 0xd800 && code <= 0xdfff) classes.add('lone surrogate');
        else if (code >= 0x80 && code <= 0xff) classes.add('Latin-1');
        else classes.add(`${utf8.encode(char).length} bytes`);
      }
    }
    assert.deepEqual([...classes].sort(), ['1 bytes', '2 bytes', '3 bytes', '4 bytes', 'Latin-1', 'lone surrogate']);
  });

  test("'café' and the class boundaries are stored as their UTF-8 bytes", () => {
    assert.deepEqual(base64Bytes(encodeBytes('café')), new Uint8Array([0x63, 0x61, 0x66, 0xc3, 0xa9]));
    for (const sample of [
      '\x7f',
      '\x80',
      '\xff',
      '\u0100',
      '\u07ff',
      '\u0800',
      '\uffff',
      '\u{10000}',
      '\u{10ffff}',
      '\ud800',
      'a\udfff',
    ]) {
      assert.deepEqual(base64Bytes(encodeBytes(sample)), utf8.encode(sample), JSON.stringify(sample));
    }
  });

  test('a key or value that starts with U+FEFF (a byte order mark) keeps it when read as text', () => {
    const kv = decodeKeyValue({ key: encodeBytes('\ufeffk'), value: encodeBytes('\ufeffv'), mod_revision: '2' });
    assert.equal(kv.keyText, '\ufeffk');
    assert.equal(kv.valueText, '\ufeffv');
    assert.equal(toTextStrict(utf8.encode('\ufeff')), '\ufeff');
  });

  test('encodeBytes is base64 of the UTF-8 bytes, and decodes back to the well-formed text', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const wire = encodeBytes(s);
        assert.deepEqual(base64Bytes(wire), utf8.encode(s));
        assert.deepEqual(decodeBytes(wire), utf8.encode(s));
        assert.deepEqual(toBytes(s), utf8.encode(s));
        assert.equal(toText(decodeBytes(wire)), wellFormed(s));
        assert.equal(toTextStrict(decodeBytes(wire)), wellFormed(s));
      }),
      { numRuns: RUNS },
    );
  });

  test('the ASCII tests agree with the bytes: isAscii, asciiOf', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const bytes = utf8.encode(s);
        const ascii = [...s].every((c) => c.charCodeAt(0) < 0x80);
        assert.equal(isAscii(s), ascii);
        assert.equal(asciiOf(bytes), ascii ? s : undefined);
      }),
      { numRuns: RUNS },
    );
  });

  test('keys under a prefix (ASCII or not) are the prefix bytes then the UTF-8 bytes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('app/', 'café/', '\u{1F600}/'),
        anyText.filter((s) => s.length > 0),
        (prefix, key) => {
          const space = new Keyspace(utf8.encode(prefix));
          const expected = concat(utf8.encode(prefix), utf8.encode(key));
          assert.deepEqual(base64Bytes(space.encode({ key }).key), expected);
          assert.deepEqual(base64Bytes(space.encode({ prefix: key }).key), expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('a put through the client sends the key and value as their UTF-8 bytes', async () => {
    const sent: Array<{ key: string; value: string }> = [];
    const fetch = async (request: Request) => {
      sent.push(JSON.parse(await request.text()) as { key: string; value: string });
      return new Response('{"header":{"revision":"2"}}');
    };
    const etcd = new Etcd({ endpoints: 'http://127.0.0.1:1', fetch, batch: false });
    const ns = etcd.namespace('ns/');
    try {
      await fc.assert(
        fc.asyncProperty(
          anyText.filter((s) => s.length > 0),
          anyText,
          async (key, value) => {
            sent.length = 0;
            await etcd.put(key, value);
            await ns.put(key, value);
            assert.deepEqual(
              sent.map((s) => base64Bytes(s.key)),
              [utf8.encode(key), concat(utf8.encode('ns/'), utf8.encode(key))],
            );
            for (const s of sent) assert.deepEqual(base64Bytes(s.value ?? ''), utf8.encode(value));
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      etcd.close();
    }
  });
});
