import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CompareOperator, type Comparison, cmp, Etcd, type KeyValue, type Operation, op } from 'etcd-fetch';
import fc from 'fast-check';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: etcdUnderTest.endpoint, timeout: 10_000 }));
const encoder = new TextEncoder();
const hex = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('hex'));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Up to ~100 KB of pseudo-random bytes from a seed (fast to generate, unlike 100 000 arbitraries). */
const bigBytes = fc
  .record({ size: fc.integer({ min: 1_000, max: 100_000 }), seed: fc.integer() })
  .map(({ size, seed }) => {
    const out = new Uint8Array(size);
    let x = seed | 1;
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  });

const specialBytes = fc.constantFrom(
  new Uint8Array([]),
  new Uint8Array([0]),
  new Uint8Array([0, 0, 0]),
  new Uint8Array([0xff, 0xfe]), // never valid UTF-8
  new Uint8Array([0xc3]), // a truncated UTF-8 sequence
  new Uint8Array([0xed, 0xa0, 0x80]), // an encoded surrogate
  encoder.encode('{"json":true}'),
  encoder.encode('é漢字🙂'),
);

const valueBytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 2, arbitrary: specialBytes },
  { weight: 1, arbitrary: bigBytes },
);

describe('random bytes round-trip exactly', () => {
  test('through put, get, range and txn', { timeout: 60_000 }, async () => {
    const etcd = client();
    const base = encoder.encode(uniquePrefix('prop-bytes'));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 48 }),
        valueBytes,
        fc.uint8Array({ maxLength: 16 }),
        async (keyTail, value, otherValue) => {
          const dir = concat(base, encoder.encode(`${run++}/`));
          const key = concat(dir, keyTail);
          await etcd.put(key, value);
          assert.equal(hex((await etcd.get(key))?.value), hex(value), 'get');
          const listed = await etcd.range({ prefix: dir });
          assert.equal(listed.kvs.length, 1);
          assert.equal(hex(listed.kvs[0]!.key), hex(key), 'range key');
          assert.equal(hex(listed.kvs[0]!.value), hex(value), 'range value');
          const read = await etcd
            .txn()
            .if(cmp.value(key, '=', value))
            .then(op.get(key))
            .commit();
          assert.equal(read.succeeded, true, 'a value compares equal to itself');
          assert.equal(hex(read.results[0]?.value), hex(value), 'txn get');
          const written = await etcd
            .txn()
            .then(op.put(key, otherValue, { prevKv: true }))
            .commit();
          assert.equal(hex(written.results[0]?.prevKv?.value), hex(value), 'txn prevKv');
          assert.equal(hex((await etcd.get(key))?.value), hex(otherValue), 'txn put');
        },
      ),
      { numRuns: 40 },
    );
  });

  test('through a watch: every event carries the exact bytes, in order', { timeout: 60_000 }, async () => {
    const etcd = client();
    const base = concat(encoder.encode(uniquePrefix('prop-watch')), new Uint8Array([0xff, 0x00]));
    const watch = etcd.watch({ prefix: base, prevKv: true });
    await watch.ready;
    const written: Array<{ key: string | undefined; value: string | undefined }> = [];
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 48 }), valueBytes, async (keyTail, value) => {
        const key = concat(base, keyTail);
        await etcd.put(key, value);
        written.push({ key: hex(key), value: hex(value) });
      }),
      { numRuns: 30 },
    );
    const seen: Array<{ key: string | undefined; value: string | undefined }> = [];
    const iterator = watch[Symbol.asyncIterator]();
    const bound = setTimeout(() => watch.close(), 20_000);
    while (seen.length < written.length) {
      const next = await iterator.next();
      if (next.done) break;
      seen.push({ key: hex(next.value.kv.key), value: hex(next.value.kv.value) });
    }
    clearTimeout(bound);
    watch.close();
    assert.deepEqual(seen, written);
  });

  test('text keys and values of any Unicode round-trip as text', { timeout: 60_000 }, async () => {
    const etcd = client();
    const base = uniquePrefix('prop-text');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        async (tail, value) => {
          const key = `${base}${run++}/${tail}`;
          await etcd.put(key, value);
          const kv = await etcd.get(key);
          assert.equal(kv?.keyText, key);
          assert.equal(kv?.valueText, value);
        },
      ),
      { numRuns: 30 },
    );
  });
});

// Random transaction trees, checked against a model evaluated here: compares (of the whole
// tree) see the store as it was before the transaction; operations see earlier operations.
type Op =
  | { kind: 'get'; key: number }
  | { kind: 'put'; key: number; value: Uint8Array }
  | { kind: 'delete'; key: number }
  | { kind: 'txn'; tree: Tree };
type Compare =
  | { target: 'value'; key: number; operator: CompareOperator; value: Uint8Array }
  | { target: 'version'; key: number; operator: CompareOperator; version: number };
interface Tree {
  compares: Compare[];
  then: Op[];
  else: Op[];
}
type Entry = { value: Uint8Array; version: number };
type State = Map<number, Entry>;
type Outcome = { succeeded: boolean; results: unknown[] };

const KEYS = 2;
const smallValue = fc.uint8Array({ min: 0, max: 2, maxLength: 2 });
const keyIndex = fc.integer({ min: 0, max: KEYS - 1 });
const operator = fc.constantFrom<CompareOperator>('=', '!=', '<', '>');
const compareArb: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({ target: fc.constant('value' as const), key: keyIndex, operator, value: smallValue }),
  fc.record({
    target: fc.constant('version' as const),
    key: keyIndex,
    operator,
    version: fc.integer({ min: 0, max: 3 }),
  }),
);
const { tree: treeArb } = fc.letrec<{ tree: Tree; op: Op }>((tie) => ({
  tree: fc.record({
    compares: fc.array(compareArb, { maxLength: 3 }),
    then: fc.array(tie('op'), { maxLength: 3 }),
    else: fc.array(tie('op'), { maxLength: 3 }),
  }),
  op: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    fc.record({ kind: fc.constant('get' as const), key: keyIndex }),
    fc.record({ kind: fc.constant('put' as const), key: keyIndex, value: smallValue }),
    fc.record({ kind: fc.constant('delete' as const), key: keyIndex }),
    tie('tree').map((tree) => ({ kind: 'txn' as const, tree })),
  ),
}));
/** The starting store: each key absent, or written once or twice (so versions differ). */
const initialArb = fc.array(
  fc.option(fc.record({ value: smallValue, writes: fc.integer({ min: 1, max: 2 }) }), { nil: undefined }),
  {
    minLength: KEYS,
    maxLength: KEYS,
  },
);

/** etcd refuses a txn that writes a key twice (even in nested branches): later writes become reads. */
function writeOnce(tree: Tree, written = new Set<number>()): Tree {
  const fix = (o: Op): Op => {
    if (o.kind === 'txn') return { kind: 'txn', tree: writeOnce(o.tree, written) };
    if (o.kind === 'get') return o;
    if (written.has(o.key)) return { kind: 'get', key: o.key };
    written.add(o.key);
    return o;
  };
  return { compares: tree.compares, then: tree.then.map(fix), else: tree.else.map(fix) };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function holds(c: Compare, before: State): boolean {
  const entry = before.get(c.key);
  // etcd: a value compare on a missing key is false, whatever the operator.
  if (c.target === 'value' && entry === undefined) return false;
  const order = c.target === 'value' ? compareBytes(entry!.value, c.value) : (entry?.version ?? 0) - c.version;
  return { '=': order === 0, '!=': order !== 0, '<': order < 0, '>': order > 0 }[c.operator];
}

function model(tree: Tree, before: State, state: State): Outcome {
  const succeeded = tree.compares.every((c) => holds(c, before));
  const results = (succeeded ? tree.then : tree.else).map((o): unknown => {
    switch (o.kind) {
      case 'get': {
        const entry = state.get(o.key);
        return { value: hex(entry?.value), version: entry?.version };
      }
      case 'put':
        state.set(o.key, { value: o.value, version: (state.get(o.key)?.version ?? 0) + 1 });
        return 'put';
      case 'delete': {
        const deleted = state.delete(o.key) ? 1 : 0;
        return { deleted };
      }
      case 'txn':
        return model(o.tree, before, state);
    }
  });
  return { succeeded, results };
}

function build(tree: Tree, keyOf: (i: number) => string) {
  const toCmp = (c: Compare): Comparison =>
    c.target === 'value'
      ? cmp.value(keyOf(c.key), c.operator, c.value)
      : cmp.version(keyOf(c.key), c.operator, c.version);
  const toOp = (o: Op): Operation<unknown> => {
    switch (o.kind) {
      case 'get':
        return op.get(keyOf(o.key));
      case 'put':
        return op.put(keyOf(o.key), o.value);
      case 'delete':
        return op.del(keyOf(o.key));
      case 'txn':
        return op
          .txn()
          .if(...o.tree.compares.map(toCmp))
          .then(...o.tree.then.map(toOp))
          .else(...o.tree.else.map(toOp));
    }
  };
  return { compares: tree.compares.map(toCmp), then: tree.then.map(toOp), else: tree.else.map(toOp) };
}

/** The client's typed results in the model's shape. */
function observed(tree: Tree, outcome: { succeeded: boolean; results: readonly unknown[] }): Outcome {
  const ops = outcome.succeeded ? tree.then : tree.else;
  return {
    succeeded: outcome.succeeded,
    results: outcome.results.map((r, i): unknown => {
      const o = ops[i]!;
      switch (o.kind) {
        case 'get': {
          const kv = r as KeyValue | undefined;
          return { value: hex(kv?.value), version: kv?.version };
        }
        case 'put':
          return 'put';
        case 'delete':
          return { deleted: (r as { deleted: number }).deleted };
        case 'txn':
          return observed(o.tree, r as Outcome);
      }
    }),
  };
}

describe('random transaction trees keep their meaning', () => {
  test('nested compares see the store as it was before the transaction; operations see earlier ones', async () => {
    const etcd = client();
    const key = `${uniquePrefix('prop-nested')}k`;
    const afterPut = await etcd
      .txn()
      .then(
        op.put(key, '1'),
        op
          .txn()
          .if(cmp.value(key, '=', '1'))
          .then(op.get(key))
          .else(op.get(key)),
      )
      .commit();
    assert.equal(afterPut.results[1]!.succeeded, false);
    assert.equal(afterPut.results[1]!.results[0]?.valueText, '1');
    const afterDelete = await etcd
      .txn()
      .then(
        op.del(key),
        op
          .txn()
          .if(cmp.version(key, '>', 0))
          .then(op.get(key))
          .else(op.get(key)),
      )
      .commit();
    assert.equal(afterDelete.results[1]!.succeeded, true);
    assert.equal(afterDelete.results[1]!.results[0], undefined);
  });

  test('branch taken, results and final store match a model', { timeout: 60_000 }, async () => {
    const etcd = client();
    const base = uniquePrefix('prop-txn');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(treeArb, initialArb, async (generated, initial) => {
        const tree = writeOnce(generated);
        const dir = `${base}${run++}/`;
        const keyOf = (i: number) => `${dir}k${i}`;
        const before: State = new Map();
        for (const [i, entry] of initial.entries()) {
          if (entry === undefined) continue;
          for (let w = 0; w < entry.writes; w++) await etcd.put(keyOf(i), entry.value);
          before.set(i, { value: entry.value, version: entry.writes });
        }
        const state: State = new Map(before);
        const expected = model(tree, before, state);

        const parts = build(tree, keyOf);
        const result = await etcd
          .txn()
          .if(...parts.compares)
          .then(...parts.then)
          .else(...parts.else)
          .commit();
        assert.deepEqual(observed(tree, result), expected);

        const stored = await etcd.range({ prefix: dir });
        const actual = new Map(
          stored.kvs.map((kv) => [
            Number(kv.keyText.slice(dir.length + 1)),
            { value: hex(kv.value), version: kv.version },
          ]),
        );
        const modelled = new Map([...state].map(([k, e]) => [k, { value: hex(e.value), version: e.version }]));
        assert.deepEqual(actual, modelled);
      }),
      { numRuns: 120 },
    );
  });
});
