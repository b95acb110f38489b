import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  AbortedError,
  Etcd,
  type EtcdOptions,
  type FetchLike,
  FutureRevisionError,
  type KeySelector,
  PermissionDeniedError,
  type RangeOptions,
} from 'etcd-fetch';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';

// A small --max-txn-ops, so splitting is seen with few reads.
const MAX_OPS = 8;
const etcdUnderTest = useEtcd({ args: ['--max-txn-ops', String(MAX_OPS)] });

/** A fetch that notes the gateway path of every request, how many reads each txn held, and its revisions. */
function counting(): { fetch: FetchLike; sent: Array<{ path: string; reads: number; revisions: string[] }> } {
  const sent: Array<{ path: string; reads: number; revisions: string[] }> = [];
  const fetch: FetchLike = async (request, init) => {
    const path = new URL(request.url).pathname;
    const body = (await request.clone().json()) as {
      success?: Array<{ request_range?: { revision?: string } }>;
      revision?: string;
    };
    const ranges = path === '/v3/kv/txn' ? (body.success ?? []).map((op) => op.request_range ?? {}) : [body];
    sent.push({ path, reads: ranges.length, revisions: ranges.map((range) => range.revision ?? '') });
    return globalThis.fetch(request, init);
  };
  return { fetch, sent };
}

/** Every client the tests made, closed after them. */
const clients: Etcd[] = [];
after(() => {
  for (const etcd of clients) etcd.close();
});
function client(options: EtcdOptions = {}): Etcd {
  const etcd = new Etcd({ endpoints: [etcdUnderTest.endpoint], batch: { maxOps: MAX_OPS }, ...options });
  clients.push(etcd);
  return etcd;
}

async function seed(etcd: Etcd, prefix: string): Promise<void> {
  await etcd.put(`${prefix}text`, 'hello');
  await etcd.put(`${prefix}empty`, '');
  await etcd.put(`${prefix}binary`, new Uint8Array([0, 255, 1, 254, 10, 13]));
  await etcd.put(new Uint8Array([...new TextEncoder().encode(prefix), 0xff, 0x00]), 'binary key');
  for (let i = 0; i < 5; i++) await etcd.put(`${prefix}list/${i}`, `item ${i}`);
}

describe('read batching against a real etcd', () => {
  test('many concurrent reads in one tick answer exactly what the same reads answer one by one', async () => {
    const prefix = uniquePrefix('batch');
    const { fetch, sent } = counting();
    const batched = client({ fetch });
    const single = client({ batch: false });
    await seed(single, prefix);
    const binaryKey = new Uint8Array([...new TextEncoder().encode(prefix), 0xff, 0x00]);
    const queries: [KeySelector, RangeOptions?][] = [
      [{ key: `${prefix}text` }],
      [{ key: `${prefix}missing` }],
      [{ key: `${prefix}empty` }],
      [{ key: `${prefix}binary` }],
      [{ key: binaryKey }],
      [{ prefix: `${prefix}list/` }],
      [{ prefix: `${prefix}list/` }, { limit: 2 }],
      [{ prefix: `${prefix}list/` }, { limit: 2, sort: { target: 'key', order: 'descend' } }],
      [{ prefix: `${prefix}list/` }, { countOnly: true }],
      [{ prefix: `${prefix}list/` }, { keysOnly: true }],
      [{ from: `${prefix}list/1`, to: `${prefix}list/3` }],
      [{ prefix: `${prefix}nothing/` }],
    ];
    const expected = await Promise.all(queries.map(([selector, options]) => single.range(selector, options)));
    const expectedGets = [await single.get(`${prefix}text`), await single.get(`${prefix}missing`)];
    const expectedCount = await single.count({ prefix: `${prefix}list/` });
    sent.length = 0;
    const [results, gets, count] = await Promise.all([
      Promise.all(queries.map(([selector, options]) => batched.range(selector, options))),
      Promise.all([batched.get(`${prefix}text`), batched.get(`${prefix}missing`)]),
      batched.count({ prefix: `${prefix}list/` }),
    ]);
    assert.deepEqual(results, expected);
    assert.deepEqual(gets, expectedGets);
    assert.equal(count, expectedCount);
    assert.equal(count, 5);
    // 15 reads at most 8 per txn: two txns, and no single range.
    assert.deepEqual(
      sent.map((s) => [s.path, s.reads]),
      [
        ['/v3/kv/txn', 8],
        ['/v3/kv/txn', 7],
      ],
    );
  });

  test('reads beyond the server limit split at maxOps; a client whose maxOps exceeds the limit still gets every answer', async () => {
    const prefix = uniquePrefix('batch-split');
    const { fetch, sent } = counting();
    const etcd = client({ fetch });
    await etcd.put(`${prefix}k`, 'v');
    sent.length = 0;
    const values = await Promise.all(Array.from({ length: 20 }, () => etcd.get(`${prefix}k`)));
    assert.ok(values.every((kv) => kv?.valueText === 'v'));
    assert.deepEqual(
      sent.map((s) => s.reads),
      [8, 8, 4],
    );

    // etcd refuses a txn of 12 reads here ("too many operations"): each read is then sent alone.
    const tooBig = client({ batch: { maxOps: 12 } });
    const again = await Promise.all(
      Array.from({ length: 12 }, (_, i) => tooBig.get(i % 2 ? `${prefix}k` : `${prefix}none`)),
    );
    assert.deepEqual(
      again.map((kv) => kv?.valueText),
      Array.from({ length: 12 }, (_, i) => (i % 2 ? 'v' : undefined)),
    );
  });

  test('reads at a future revision fail alone, each with the error of its own single read; the reads of its tick succeed', async () => {
    const prefix = uniquePrefix('batch-future');
    const { fetch, sent } = counting();
    const etcd = client({ fetch });
    const { revision } = await etcd.put(`${prefix}k`, 'v');
    sent.length = 0;
    const future = revision + 1000;
    const results = await Promise.allSettled([
      etcd.get(`${prefix}k`),
      etcd.get(`${prefix}k`, { revision: future }),
      etcd.get(`${prefix}k`, { revision: future, keysOnly: true }),
      etcd.get(`${prefix}k`, { revision }),
      etcd.get(`${prefix}k`, { revision }),
    ]);
    assert.equal(results[0].status === 'fulfilled' && results[0].value?.valueText, 'v');
    for (const result of [results[1], results[2]]) {
      assert.ok(result.status === 'rejected' && result.reason instanceof FutureRevisionError, String(result));
      // The fall-back: the failed txn's reads were each sent again alone, and the caller got
      // the answer of its own /kv/range, as an unbatched call would.
      assert.match(
        String(result.reason.path),
        /kv\/range$/,
        `the error of the caller's own read, not the txn's: ${String(result.reason.path)}`,
      );
    }
    assert.equal(results[3].status === 'fulfilled' && results[3].value?.valueText, 'v');
    assert.equal(results[4].status === 'fulfilled' && results[4].value?.valueText, 'v');
    // Reads travel together only at the same revision: the two future reads share a txn that
    // fails, then go alone; the two at `revision` share a txn that succeeds; the first goes alone.
    const requests = sent.map((s) => `${s.path} ${s.revisions.join(',')}`).sort();
    const expected = [
      `/v3/kv/range `,
      `/v3/kv/range ${future}`,
      `/v3/kv/range ${future}`,
      `/v3/kv/txn ${future},${future}`,
      `/v3/kv/txn ${revision},${revision}`,
    ].sort();
    assert.deepEqual(requests, expected);
  });

  test('an aborted read of a batch rejects with AbortedError while the others succeed', async () => {
    const prefix = uniquePrefix('batch-abort');
    const etcd = client();
    await etcd.put(`${prefix}k`, 'v');
    const controller = new AbortController();
    const pending = Promise.allSettled([
      etcd.get(`${prefix}k`),
      etcd.get(`${prefix}k`, { signal: controller.signal }),
      etcd.get(`${prefix}k`),
    ]);
    controller.abort();
    const [first, aborted, last] = await pending;
    assert.ok(aborted.status === 'rejected' && aborted.reason instanceof AbortedError, String(aborted));
    assert.equal(first.status === 'fulfilled' && first.value?.valueText, 'v');
    assert.equal(last.status === 'fulfilled' && last.value?.valueText, 'v');
  });

  test('with batch: false every read is its own /kv/range request', async () => {
    const prefix = uniquePrefix('batch-off');
    const { fetch, sent } = counting();
    const etcd = client({ fetch, batch: false });
    await etcd.put(`${prefix}k`, 'v');
    sent.length = 0;
    const values = await Promise.all(Array.from({ length: 10 }, () => etcd.get(`${prefix}k`)));
    assert.ok(values.every((kv) => kv?.valueText === 'v'));
    assert.deepEqual(
      sent.map((s) => s.path),
      Array.from({ length: 10 }, () => '/v3/kv/range'),
    );
  });

  test('writes of one tick travel as one txn; with batch.writes false each goes alone', async () => {
    const prefix = uniquePrefix('batch-writes');
    const { fetch, sent } = counting();
    const puts = await Promise.all(Array.from({ length: 4 }, (_, i) => client({ fetch }).put(`${prefix}${i}`, 'v')));
    const etcd = client({ fetch });
    const shared = await Promise.all(Array.from({ length: 4 }, (_, i) => etcd.put(`${prefix}${i}`, 'w')));
    assert.equal(new Set(shared.map((p) => p.revision)).size, 1, 'one txn, one revision');
    assert.ok(puts.length === 4);
    sent.length = 0;
    const alone = client({ fetch, batch: { writes: false } });
    await Promise.all(Array.from({ length: 4 }, (_, i) => alone.put(`${prefix}${i}`, 'x')));
    assert.deepEqual(
      sent.map((s) => s.path),
      Array.from({ length: 4 }, () => '/v3/kv/put'),
    );
  });

  // Last: it turns authentication on for this suite's etcd.
  test('a key the user may not read fails only its own read; the readable keys of the same batch succeed', async () => {
    const prefix = uniquePrefix('batch-perm');
    const root = client({ batch: false });
    await root.put(`${prefix}open/a`, 'a');
    await root.put(`${prefix}secret`, 's');
    const call = async (path: string, body: object, token?: string) => {
      const response = await fetch(`${etcdUnderTest.endpoint}/v3${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: token ? { authorization: token } : {},
      });
      assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
      return (await response.json()) as Record<string, unknown>;
    };
    const key = (text: string) => btoa(text);
    await call('/auth/user/add', { name: 'root', password: 'rootpw' });
    await call('/auth/user/grant', { user: 'root', role: 'root' });
    await call('/auth/user/add', { name: 'reader', password: 'readerpw' });
    await call('/auth/role/add', { name: 'reader' });
    const open = `${prefix}open/`;
    const openEnd = open.slice(0, -1) + String.fromCharCode(open.charCodeAt(open.length - 1) + 1);
    await call('/auth/role/grant', {
      name: 'reader',
      perm: { permType: 'READ', key: key(open), range_end: key(openEnd) },
    });
    await call('/auth/user/grant', { user: 'reader', role: 'reader' });
    await call('/auth/enable', {});
    try {
      const { fetch, sent } = counting();
      const reader = client({ fetch, auth: { username: 'reader', password: 'readerpw' } });
      const results = await Promise.allSettled([
        reader.get(`${prefix}open/a`),
        reader.get(`${prefix}secret`),
        reader.get(`${prefix}open/b`),
      ]);
      assert.equal(results[0].status === 'fulfilled' && results[0].value?.valueText, 'a');
      assert.ok(
        results[1].status === 'rejected' && results[1].reason instanceof PermissionDeniedError,
        String(results[1]),
      );
      assert.equal(results[2].status === 'fulfilled' && results[2].value, undefined);
      const reads = sent.filter((s) => s.path.startsWith('/v3/kv/')).map((s) => s.path);
      assert.deepEqual(
        reads,
        ['/v3/kv/txn', '/v3/kv/range', '/v3/kv/range', '/v3/kv/range'],
        'the refused txn was split into single reads',
      );
    } finally {
      const { token } = await call('/auth/authenticate', { name: 'root', password: 'rootpw' });
      await call('/auth/disable', {}, token as string);
    }
  });
});

describe('write batching against a real etcd', () => {
  test('writes to the same key never share a txn and apply in the order issued', async () => {
    const prefix = uniquePrefix('wb-order');
    const { fetch, sent } = counting();
    const etcd = client({ fetch });
    const results = await Promise.all([
      etcd.put(`${prefix}a`, '1'),
      etcd.put(`${prefix}b`, '1'),
      etcd.put(`${prefix}a`, '2', { prevKv: true }),
      etcd.del({ prefix: `${prefix}b` }, { prevKv: true }),
      etcd.put(`${prefix}a`, '3', { prevKv: true }),
    ]);
    assert.equal((await etcd.get(`${prefix}a`))?.valueText, '3');
    assert.equal(await etcd.count({ prefix: `${prefix}b` }), 0);
    assert.equal((results[2] as { prevKv?: { valueText: string } }).prevKv?.valueText, '1');
    assert.equal((results[4] as { prevKv?: { valueText: string } }).prevKv?.valueText, '2');
    const revisions = results.map((r) => r.revision);
    assert.equal(revisions[0], revisions[1], 'a and b went together');
    assert.ok(
      revisions[2]! > revisions[0]! && revisions[4]! > revisions[2]!,
      `later writes of a come later: ${revisions}`,
    );
    // Writes asking for prevKv go alone: their answers have no known size.
    assert.deepEqual(
      sent
        .slice(0, 4)
        .map((s) => s.path)
        .sort(),
      ['/v3/kv/deleterange', '/v3/kv/put', '/v3/kv/put', '/v3/kv/txn'],
    );
  });

  test('a read issued after a write to its key in the same tick sees the write', async () => {
    const prefix = uniquePrefix('wb-read');
    const etcd = client();
    const [, read] = await Promise.all([etcd.put(`${prefix}k`, 'fresh'), etcd.get(`${prefix}k`)]);
    assert.equal(read?.valueText, 'fresh');
  });

  test('a write refused for its own reason (a lease not found) fails alone; the others of its txn apply', async () => {
    const prefix = uniquePrefix('wb-isolate');
    const { fetch, sent } = counting();
    const etcd = client({ fetch });
    const results = await Promise.allSettled([
      etcd.put(`${prefix}ok1`, 'v'),
      etcd.put(`${prefix}bad`, 'v', { lease: '123456789' }),
      etcd.put(`${prefix}ok2`, 'v'),
    ]);
    assert.equal(results[0]!.status, 'fulfilled');
    assert.ok(
      results[1]!.status === 'rejected' && (results[1].reason as Error).name === 'NotFoundError',
      String(results[1]),
    );
    assert.equal(results[2]!.status, 'fulfilled');
    assert.equal(await etcd.count({ prefix }), 2);
    assert.deepEqual(sent.map((s) => s.path).slice(0, 4), ['/v3/kv/txn', '/v3/kv/put', '/v3/kv/put', '/v3/kv/put']);
  });

  test('when the answer of a write txn is lost, every write of it may have applied, as a single write would', async () => {
    const prefix = uniquePrefix('wb-lost');
    let loseTxn = true;
    const fetch: FetchLike = async (request, init) => {
      const response = await globalThis.fetch(request, init);
      if (loseTxn && new URL(request.url).pathname === '/v3/kv/txn') {
        loseTxn = false;
        await response.body?.cancel();
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
        });
      }
      return response;
    };
    const etcd = client({ fetch });
    const results = await Promise.allSettled([etcd.put(`${prefix}a`, 'v'), etcd.put(`${prefix}b`, 'v')]);
    for (const result of results) {
      assert.ok(result.status === 'rejected', String(result));
      const error = result.reason as { name: string; mayHaveApplied: boolean; path: string };
      assert.equal(error.name, 'UnavailableError');
      assert.equal(error.mayHaveApplied, true);
      assert.equal(error.path, '/v3/kv/put');
    }
    assert.equal(await etcd.count({ prefix }), 2, 'etcd did apply them');
  });

  test('a batch holds at most maxOps writes and stays under the request size limit', async () => {
    const prefix = uniquePrefix('wb-limits');
    const { fetch, sent } = counting();
    const etcd = client({ fetch });
    await Promise.all(Array.from({ length: MAX_OPS * 2 + 1 }, (_, i) => etcd.put(`${prefix}${i}`, 'v')));
    assert.deepEqual(
      sent.map((s) => s.reads),
      [MAX_OPS, MAX_OPS, 1],
    );
    sent.length = 0;
    // Three 600 KB values: two would pass etcd's 1.5 MiB request limit together.
    const big = 'x'.repeat(600 * 1024);
    await Promise.all(Array.from({ length: 3 }, (_, i) => etcd.put(`${prefix}big${i}`, big)));
    assert.ok(sent.length >= 2, `split by size: ${JSON.stringify(sent)}`);
    assert.equal(await etcd.count({ prefix: `${prefix}big` }), 3);
  });
});

describe('reads and writes of one tick keep their order', () => {
  test('a get issued before a put to its key in the same tick does not see the put; one issued after does', async () => {
    const prefix = uniquePrefix('wb-rw');
    const etcd = client();
    await etcd.put(`${prefix}k`, 'old');
    const [before, , after] = await Promise.all([
      etcd.get(`${prefix}k`),
      etcd.put(`${prefix}k`, 'new'),
      etcd.get(`${prefix}k`),
    ]);
    assert.equal(before?.valueText, 'old');
    assert.equal(after?.valueText, 'new');
  });
});
