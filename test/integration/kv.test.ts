import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  AbortedError,
  CompactedError,
  type CompareOperator,
  type Comparison,
  cmp,
  Etcd,
  type FetchLike,
  FutureRevisionError,
  InvalidArgumentError,
  KeyValue,
  NotFoundError,
  type Operation,
  op,
  RequestTooLargeError,
  TimeoutError,
} from 'etcd-fetch';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const text = new TextEncoder();
const etcdUnderTest = useEtcd();
/** Every client the tests made, closed after them. */
const clients: Etcd[] = [];
after(() => {
  for (const etcd of clients) etcd.close();
});
const client = (fetch?: FetchLike) => {
  const etcd = new Etcd({ endpoints: [etcdUnderTest.endpoint], fetch });
  clients.push(etcd);
  return etcd;
};

describe('KV against a real etcd', () => {
  test('put then get returns the value and its revisions', async () => {
    const etcd = client();
    const key = `${uniquePrefix('kv')}a`;
    const put = await etcd.put(key, 'one');
    const kv = await etcd.get(key);
    assert.ok(kv instanceof KeyValue);
    assert.equal(kv.valueText, 'one');
    assert.equal(kv.keyText, key);
    assert.equal(kv.createRevision, put.revision);
    assert.equal(kv.modRevision, put.revision);
    assert.equal(kv.version, 1);
    assert.equal(kv.lease, '0');
    const again = await etcd.put(key, 'two', { prevKv: true });
    assert.equal(again.prevKv?.valueText, 'one');
    assert.equal((await etcd.get(key))?.version, 2);
  });

  test('a missing key is undefined, and an empty value is an empty value', async () => {
    const etcd = client();
    const p = uniquePrefix('kv');
    assert.equal(await etcd.get(`${p}missing`), undefined);
    await etcd.put(`${p}empty`, '');
    const kv = await etcd.get(`${p}empty`);
    assert.equal(kv?.value.length, 0);
    assert.equal(kv?.version, 1);
  });

  test('binary keys and values (0x00, 0xff, invalid UTF-8) round-trip exactly', async () => {
    const etcd = client();
    const prefix = text.encode(uniquePrefix('bin'));
    const key = new Uint8Array([...prefix, 0x00, 0xff, 0xc3, 0x28, 0x80]);
    const value = new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28]);
    await etcd.put(key, value);
    const kv = await etcd.get(key);
    assert.deepEqual(kv?.key, key);
    assert.deepEqual(kv?.value, value);
    const listed = await etcd.range({ prefix });
    assert.deepEqual(
      listed.kvs.map((k) => k.key),
      [key],
    );
    const allBytes = new Uint8Array(256).map((_, i) => i);
    await etcd.put(key, allBytes);
    assert.deepEqual((await etcd.get(key))?.value, allBytes);
  });

  test('prefix, [from, to) and from-key ranges', async () => {
    const etcd = client();
    const p = uniquePrefix('range');
    for (const k of ['a', 'b', 'c', 'd']) await etcd.put(`${p}${k}`, k);
    await etcd.put(`${p.slice(0, -1)}0`, 'outside'); // the byte after "/"
    const keys = (r: { kvs: KeyValue[] }) => r.kvs.map((kv) => kv.keyText.slice(p.length));
    assert.deepEqual(keys(await etcd.range({ prefix: p })), ['a', 'b', 'c', 'd']);
    assert.deepEqual(keys(await etcd.range({ from: `${p}b`, to: `${p}d` })), ['b', 'c']);
    const fromKey = await etcd.range({ from: `${p}c` });
    assert.ok(fromKey.kvs.length >= 3, 'from-key reaches past the prefix');
    assert.deepEqual(keys({ kvs: fromKey.kvs.slice(0, 2) }), ['c', 'd']);
    const all = await etcd.range({ prefix: '' });
    assert.ok(all.count >= 5);
  });

  test('limit, more and count; sort by every target and order', async () => {
    const etcd = client();
    const p = uniquePrefix('sort');
    await etcd.put(`${p}b`, '3');
    await etcd.put(`${p}a`, '2');
    await etcd.put(`${p}c`, '1');
    await etcd.put(`${p}a`, '2b');
    const limited = await etcd.range({ prefix: p }, { limit: 2 });
    assert.equal(limited.kvs.length, 2);
    assert.equal(limited.more, true);
    assert.equal(limited.count, 3);
    const order = async (
      target: 'key' | 'version' | 'createRevision' | 'modRevision' | 'value',
      o: 'ascend' | 'descend',
    ) =>
      (await etcd.range({ prefix: p }, { sort: { target, order: o } })).kvs
        .map((kv) => kv.keyText.slice(p.length))
        .join('');
    assert.equal(await order('key', 'descend'), 'cba');
    assert.equal(await order('key', 'ascend'), 'abc');
    assert.equal(await order('createRevision', 'ascend'), 'bac');
    assert.equal(await order('modRevision', 'descend'), 'acb');
    assert.equal(await order('value', 'ascend'), 'cab');
    assert.equal((await order('version', 'descend'))[0], 'a');
  });

  test('keysOnly, countOnly and count()', async () => {
    const etcd = client();
    const p = uniquePrefix('only');
    await etcd.put(`${p}x`, 'value');
    await etcd.put(`${p}y`, 'value');
    const keysOnly = await etcd.range({ prefix: p }, { keysOnly: true });
    assert.equal(keysOnly.kvs.length, 2);
    assert.equal(keysOnly.kvs[0]?.value.length, 0);
    const countOnly = await etcd.range({ prefix: p }, { countOnly: true });
    assert.equal(countOnly.kvs.length, 0);
    assert.equal(countOnly.count, 2);
    assert.equal(await etcd.count({ prefix: p }), 2);
    assert.equal(await etcd.count({ prefix: `${p}none` }), 0);
  });

  test('reads at a past revision, serializable reads, and a future revision is a typed error', async () => {
    const etcd = client();
    const key = `${uniquePrefix('rev')}k`;
    const first = await etcd.put(key, 'old');
    await etcd.put(key, 'new');
    assert.equal((await etcd.get(key, { revision: first.revision }))?.valueText, 'old');
    assert.equal((await etcd.get(key, { serializable: true }))?.valueText, 'new');
    await assert.rejects(etcd.get(key, { revision: first.revision + 1_000_000 }), FutureRevisionError);
  });

  test('min/max create and mod revision filters', async () => {
    const etcd = client();
    const p = uniquePrefix('filter');
    const a = await etcd.put(`${p}a`, '1');
    const b = await etcd.put(`${p}b`, '1');
    await etcd.put(`${p}a`, '2');
    const names = (r: { kvs: KeyValue[] }) => r.kvs.map((kv) => kv.keyText.slice(p.length)).join('');
    assert.equal(names(await etcd.range({ prefix: p }, { minCreateRevision: b.revision })), 'b');
    assert.equal(names(await etcd.range({ prefix: p }, { maxCreateRevision: a.revision })), 'a');
    assert.equal(names(await etcd.range({ prefix: p }, { minModRevision: b.revision + 1 })), 'a');
    assert.equal(names(await etcd.range({ prefix: p }, { maxModRevision: b.revision })), 'b');
  });

  test("put with ignoreValue keeps the value; on a missing key it is etcd's typed error", async () => {
    const etcd = client();
    const p = uniquePrefix('ignore');
    await etcd.put(`${p}k`, 'kept');
    await etcd.put(`${p}k`, undefined, { ignoreValue: true });
    const kv = await etcd.get(`${p}k`);
    assert.equal(kv?.valueText, 'kept');
    assert.equal(kv?.version, 2);
    await assert.rejects(etcd.put(`${p}missing`, undefined, { ignoreValue: true }), InvalidArgumentError);
    await assert.rejects(etcd.put(`${p}missing`, undefined, { ignoreLease: true }), InvalidArgumentError);
    await assert.rejects(etcd.put(`${p}k`, 'x', { ignoreValue: true }), InvalidArgumentError);
  });

  test('put with a lease attaches it; ignoreLease keeps it; an unknown lease is NotFoundError', async () => {
    const etcd = client();
    const p = uniquePrefix('lease');
    const grant = await fetch(`${etcdUnderTest.endpoint}/v3/lease/grant`, { method: 'POST', body: '{"TTL": 60}' });
    const lease = ((await grant.json()) as { ID: string }).ID;
    await etcd.put(`${p}k`, 'v', { lease });
    assert.equal((await etcd.get(`${p}k`))?.lease, lease);
    await etcd.put(`${p}k`, 'v2', { ignoreLease: true });
    assert.equal((await etcd.get(`${p}k`))?.lease, lease);
    await assert.rejects(etcd.put(`${p}k`, 'v', { lease: '12345' }), NotFoundError);
    await fetch(`${etcdUnderTest.endpoint}/v3/lease/revoke`, { method: 'POST', body: JSON.stringify({ ID: lease }) });
  });

  test('delete a key, a prefix, a range; prevKv returns what was deleted', async () => {
    const etcd = client();
    const p = uniquePrefix('del');
    for (const k of ['a', 'b', 'c', 'd', 'e']) await etcd.put(`${p}${k}`, k);
    const one = await etcd.del(`${p}a`, { prevKv: true });
    assert.equal(one.deleted, 1);
    assert.equal(one.prevKvs[0]?.valueText, 'a');
    const range = await etcd.del({ from: `${p}b`, to: `${p}d` });
    assert.equal(range.deleted, 2);
    assert.equal(range.prevKvs.length, 0);
    assert.equal((await etcd.del(`${p}zzz`)).deleted, 0);
    const rest = await etcd.del({ prefix: p }, { prevKv: true });
    assert.deepEqual(
      rest.prevKvs.map((kv) => kv.valueText),
      ['d', 'e'],
    );
    assert.equal(await etcd.count({ prefix: p }), 0);
  });

  test('compact discards history; reading before it is CompactedError', async () => {
    const etcd = client();
    const key = `${uniquePrefix('compact')}k`;
    const old = await etcd.put(key, '1');
    const latest = await etcd.put(key, '2');
    await etcd.compact(latest.revision, { physical: true });
    await assert.rejects(etcd.get(key, { revision: old.revision }), CompactedError);
    await assert.rejects(etcd.compact(old.revision), CompactedError);
    assert.equal((await etcd.get(key))?.valueText, '2');
  });

  test('scan walks a large prefix in pages, in order, at one revision', async () => {
    const etcd = client();
    const p = uniquePrefix('scan');
    const total = 1_234;
    const keys = Array.from({ length: total }, (_, i) => `${p}${String(i).padStart(5, '0')}`);
    for (let i = 0; i < total; i += 100) {
      const chunk = keys.slice(i, i + 100);
      await etcd
        .txn()
        .then(...chunk.map((k) => opPut(k)))
        .commit();
    }
    const seen: string[] = [];
    let added = false;
    for await (const kv of etcd.scan({ prefix: p }, { pageSize: 100 })) {
      seen.push(kv.keyText);
      if (!added) {
        added = true;
        await etcd.put(`${p}99999-late`, 'written after the scan began'); // not seen: pinned revision
      }
    }
    assert.deepEqual(seen, keys);
    await assert.rejects(async () => {
      for await (const _ of etcd.scan({ prefix: p }, { pageSize: 0 })) break;
    }, InvalidArgumentError);
  });

  test("a value over etcd's request limit is RequestTooLargeError, and nothing is written", async () => {
    const etcd = client();
    const key = `${uniquePrefix('big')}k`;
    await assert.rejects(etcd.put(key, new Uint8Array(2 * 1024 * 1024)), RequestTooLargeError);
    assert.equal(await etcd.get(key), undefined);
    const fits = new Uint8Array(1024 * 1024).fill(7);
    await etcd.put(key, fits);
    assert.deepEqual((await etcd.get(key))?.value, fits);
  });

  test('an AbortSignal cancels a call; a tiny deadline times it out', async () => {
    const etcd = client();
    await assert.rejects(etcd.get('x', { signal: AbortSignal.abort() }), AbortedError);
    const controller = new AbortController();
    const pending = etcd.range({ prefix: '' }, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, AbortedError);

    // A network 300 ms slow each way: every deadline below is shorter than a round trip, so each
    // call must end with a TimeoutError at its deadline (a call's own deadline, not the client's
    // 10 s), never with the answer.
    const NETWORK_MS = 300;
    const slow = client(async (request, init) => {
      await new Promise((resolve) => setTimeout(resolve, NETWORK_MS));
      return globalThis.fetch(request, init);
    });
    const key = `${uniquePrefix('deadline')}k`;
    const calls: Array<[string, number, () => Promise<unknown>]> = [
      ['range, 1 µs', 0.001, () => slow.range({ prefix: '' }, { timeout: 0.001 })],
      ['get, 100 ms', 100, () => slow.get(key, { timeout: 100 })],
      ['put, 100 ms', 100, () => slow.put(key, 'v', { timeout: 100 })],
    ];
    // At once: each settles by its own deadline. 600 ms covers a busy machine's event-loop delay.
    const outcomes = await Promise.all(
      calls.map(async ([what, deadline, call]) => {
        const started = performance.now();
        const result = await call().then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        return { what, deadline, ms: performance.now() - started, ...result };
      }),
    );
    for (const { what, deadline, ms, ...result } of outcomes) {
      assert.ok(
        'error' in result && result.error instanceof TimeoutError,
        `${what}: ${'error' in result ? String(result.error) : 'answered'}`,
      );
      assert.ok(ms >= deadline - 5 && ms < deadline + 600, `${what}: settled after ${Math.round(ms)} ms`);
    }
  });

  test('bad arguments are typed errors before any request', async () => {
    let sent = 0;
    const etcd = client((request, init) => {
      sent++;
      return fetch(request, init);
    });
    await assert.rejects(etcd.get(42 as unknown as string), InvalidArgumentError);
    await assert.rejects(etcd.get(''), InvalidArgumentError);
    await assert.rejects(etcd.range({ prefix: 'a' }, { limit: -1 }), InvalidArgumentError);
    await assert.rejects(etcd.range({ prefix: 'a' }, { sort: { target: 'size' as 'key' } }), InvalidArgumentError);
    await assert.rejects(etcd.range({ prefix: 'a' }, { revision: 1.5 }), InvalidArgumentError);
    await assert.rejects(etcd.put('a', undefined), InvalidArgumentError);
    await assert.rejects(etcd.put('a', 'v', { lease: 'abc' }), InvalidArgumentError);
    await assert.rejects(etcd.compact(-3), InvalidArgumentError);
    // Keys and values that are neither strings nor bytes.
    for (const key of [null, undefined, {}, [1, 2], 7n, new ArrayBuffer(2), Symbol('k')] as unknown as string[]) {
      await assert.rejects(etcd.put(key, 'v'), InvalidArgumentError);
      await assert.rejects(etcd.del(key), InvalidArgumentError);
    }
    await assert.rejects(etcd.put('a', 42 as unknown as string), InvalidArgumentError);
    await assert.rejects(etcd.put('a', { toString: () => 'v' } as unknown as string), InvalidArgumentError);
    await assert.rejects(etcd.range({ prefix: 5 as unknown as string }), InvalidArgumentError);
    await assert.rejects(etcd.range({ from: 'a', to: [] as unknown as string }), InvalidArgumentError);
    await assert.rejects(etcd.range({} as { key: string }), InvalidArgumentError);
    // Wrong numbers and enums.
    await assert.rejects(etcd.range({ prefix: 'a' }, { sort: { order: 'up' as 'ascend' } }), InvalidArgumentError);
    await assert.rejects(etcd.range({ prefix: 'a' }, { limit: '10' as unknown as number }), InvalidArgumentError);
    await assert.rejects(etcd.range({ prefix: 'a' }, { limit: Infinity }), InvalidArgumentError);
    await assert.rejects(etcd.range({ prefix: 'a' }, { minModRevision: Number.NaN }), InvalidArgumentError);
    await assert.rejects(etcd.get('a', { revision: -1 }), InvalidArgumentError);
    await assert.rejects(etcd.get('a', { timeout: -5 }), InvalidArgumentError);
    await assert.rejects(etcd.get('a', { timeout: 'soon' as unknown as number }), InvalidArgumentError);
    await assert.rejects(etcd.get('a', { signal: 'stop' as unknown as AbortSignal }), InvalidArgumentError);
    await assert.rejects(etcd.scan({ prefix: 'a' }, { pageSize: 0 }).next(), InvalidArgumentError);
    // Leases: negative, fractional or textual TTLs and IDs.
    for (const ttl of [-1, 0, 1.5, Number.NaN, '10' as unknown as number])
      await assert.rejects(etcd.grant(ttl), InvalidArgumentError);
    await assert.rejects(etcd.revoke('abc'), InvalidArgumentError);
    await assert.rejects(etcd.grant(10, { id: -1.5 }), InvalidArgumentError);
    // Transactions: comparisons and operations not made with cmp.* / op.*, or with bad operands.
    assert.throws(() => etcd.txn().if({} as Comparison), InvalidArgumentError);
    assert.throws(() => etcd.txn().then('put' as unknown as Operation<unknown>), InvalidArgumentError);
    assert.throws(() => cmp.value('a', '==' as CompareOperator, 'x'), InvalidArgumentError);
    assert.throws(() => cmp.version('a', '=', -1), InvalidArgumentError);
    assert.throws(() => cmp.lease('a', '=', 'none'), InvalidArgumentError);
    assert.throws(() => op.put('a', 5 as unknown as string), InvalidArgumentError);
    await assert.rejects(
      etcd
        .txn()
        .then(op.get(42 as unknown as string))
        .commit(),
      InvalidArgumentError,
    );
    assert.equal(sent, 0);
  });
});

function opPut(key: string) {
  return op.put(key, key);
}
