// A batched write txn whose answer was not read (too large, garbled, a proxy's page) may have been
// applied: its writes are never sent again one by one. Only etcd's own refusal proves that nothing
// was applied. Each test spoils the answer of a txn the real etcd already applied.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, type EtcdOptions, type FetchLike } from 'etcd-fetch';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { type Fault, faultOnce, startFaultProxy } from '../helpers/fault-proxy.ts';

const etcdUnderTest = useEtcd();

const client = closedAfter(
  (options: EtcdOptions = {}) => new Etcd({ endpoints: [etcdUnderTest.endpoint], timeout: 10_000, ...options }),
);

/** A fetch that lets etcd answer the first `/v3/kv/txn`, then hands the caller `spoil(answer text)` instead; it notes every path sent. */
function spoilingFirstTxn(spoil: (text: string) => Response): { fetch: FetchLike; paths: string[] } {
  const paths: string[] = [];
  let spoiled = false;
  const fetch: FetchLike = async (request, init) => {
    const path = new URL(request.url).pathname;
    paths.push(path);
    const response = await globalThis.fetch(request, init);
    if (spoiled || path !== '/v3/kv/txn') return response;
    spoiled = true;
    const text = await response.text();
    assert.equal(response.status, 200, `etcd applied the txn: ${text.slice(0, 200)}`);
    return spoil(text);
  };
  return { fetch, paths };
}

interface MaybeApplied {
  name: string;
  mayHaveApplied?: boolean;
  path?: string;
}

async function seed(prefix: string, keys: string[], value: string): Promise<void> {
  const plain = client({ batch: false });
  for (const key of keys) await plain.put(`${prefix}${key}`, value);
}

async function versions(prefix: string, keys: string[]): Promise<number[]> {
  const plain = client({ batch: false });
  return Promise.all(keys.map(async (key) => (await plain.get(`${prefix}${key}`))?.version ?? 0));
}

function assertEachMayHaveApplied(results: PromiseSettledResult<unknown>[]): void {
  for (const result of results) {
    assert.equal(
      result.status,
      'rejected',
      `a write whose answer was not read must not succeed: ${JSON.stringify(result)}`,
    );
    const error = (result as PromiseRejectedResult).reason as MaybeApplied;
    assert.equal(error.mayHaveApplied, true, `${error.name} must say the write may have applied: ${String(error)}`);
  }
}

describe('a batched write is never applied twice', () => {
  test('a put batch whose prevKv answers together exceed maxResponseBytes is split before sending: each put applies once and returns the real old value', async () => {
    const prefix = uniquePrefix('once-split');
    const keys = ['a', 'b', 'c'];
    const old = 'o'.repeat(100 * 1024);
    await seed(prefix, keys, old);
    // Each answer (about 137 KB of base64) fits under the bound; the three together do not.
    const etcd = client({ maxResponseBytes: 256 * 1024 });
    const results = await Promise.allSettled(keys.map((key) => etcd.put(`${prefix}${key}`, 'new', { prevKv: true })));
    for (const result of results) {
      assert.equal(result.status, 'fulfilled', `put failed: ${String((result as PromiseRejectedResult).reason)}`);
      const prev = (result as PromiseFulfilledResult<{ prevKv?: { valueText: string } }>).value.prevKv;
      assert.equal(
        prev?.valueText.length,
        old.length,
        `prevKv is the real old value, not the caller's own: ${prev?.valueText.slice(0, 20)}`,
      );
    }
    assert.deepEqual(await versions(prefix, keys), [2, 2, 2], 'each put applied exactly once');
  });

  test('a put batch whose every prevKv answer exceeds maxResponseBytes rejects each put with mayHaveApplied, applies each once, and keeps the old value in history', async () => {
    const prefix = uniquePrefix('once-toolarge');
    const keys = ['a', 'b', 'c'];
    const old = 'o'.repeat(300 * 1024);
    await seed(prefix, keys, old);
    const etcd = client({ maxResponseBytes: 256 * 1024 });
    const results = await Promise.allSettled(keys.map((key) => etcd.put(`${prefix}${key}`, 'new', { prevKv: true })));
    assertEachMayHaveApplied(results);
    assert.deepEqual(
      await versions(prefix, keys),
      [2, 2, 2],
      'each put applied exactly once (3 means it was sent twice)',
    );
    const plain = client({ batch: false });
    for (const key of keys) {
      const now = await plain.get(`${prefix}${key}`);
      assert.equal(now?.valueText, 'new');
      const before = await plain.get(`${prefix}${key}`, { revision: now!.modRevision - 1 });
      assert.equal(before?.valueText.length, old.length, 'the old value is the one before the single put');
    }
  });

  const spoilers: Array<[string, (text: string) => Response]> = [
    [
      'a garbled 200 (the answer cut in half)',
      (text) => new Response(text.slice(0, Math.floor(text.length / 2)), { status: 200 }),
    ],
    [
      'a 200 whose JSON holds no answer per write',
      (text) => Response.json({ ...(JSON.parse(text) as object), responses: [] }),
    ],
    [
      "a proxy's 400 page after etcd applied the txn",
      () => new Response('<html>400 Bad Request</html>', { status: 400, headers: { 'content-type': 'text/html' } }),
    ],
    ["a proxy's 502 after etcd applied the txn", () => new Response('bad gateway', { status: 502 })],
  ];
  for (const [name, spoil] of spoilers) {
    test(`${name} rejects every write of the txn with mayHaveApplied and applies each once`, async () => {
      const prefix = uniquePrefix('once-spoiled');
      const keys = ['a', 'b', 'c'];
      await seed(prefix, keys, 'old');
      const { fetch, paths } = spoilingFirstTxn(spoil);
      const etcd = client({ fetch });
      const results = await Promise.allSettled(
        keys.map((key) => etcd.put(`${prefix}${key}`, 'new', { prevKv: false })),
      );
      assert.deepEqual(paths, ['/v3/kv/txn'], 'one txn, never resent one by one');
      assertEachMayHaveApplied(results);
      assert.deepEqual(await versions(prefix, keys), [2, 2, 2], 'each put applied exactly once');
    });
  }

  test("etcd's own refusal of a txn (duplicate key, a lease not found) still resends each write alone: etcd applied nothing", async () => {
    const prefix = uniquePrefix('once-refused');
    const paths: string[] = [];
    const fetch: FetchLike = async (request, init) => {
      paths.push(new URL(request.url).pathname);
      return globalThis.fetch(request, init);
    };
    const etcd = client({ fetch });
    const results = await Promise.allSettled([
      etcd.put(`${prefix}a`, 'v'),
      etcd.put(`${prefix}bad`, 'v', { lease: '123456789' }),
      etcd.put(`${prefix}c`, 'v'),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(((results[1] as PromiseRejectedResult).reason as MaybeApplied).name, 'NotFoundError');
    assert.deepEqual(paths, ['/v3/kv/txn', '/v3/kv/put', '/v3/kv/put', '/v3/kv/put']);
    assert.deepEqual(await versions(prefix, ['a', 'bad', 'c']), [1, 0, 1]);
  });
});

describe('a batched write is never applied twice, behind a fault proxy', () => {
  const isWriteTxn = (request: { path: string; json: unknown }) =>
    request.path === '/v3/kv/txn' && JSON.stringify(request.json).includes('request_put');
  const faults: Array<[string, Fault]> = [
    ['the connection dropped after etcd applied the txn', { kind: 'drop' }],
    ['a garbled 200', { kind: 'garble' }],
    ['an answer cut short that looks complete', { kind: 'truncate', bytes: 40, end: 'clean' }],
    ['an answer that breaks off', { kind: 'truncate', bytes: 40, end: 'reset' }],
    ['a gzip bomb past maxResponseBytes', { kind: 'gzipBomb', inflatedBytes: 4 * 1024 * 1024 }],
    [
      "a proxy's 400 page",
      { kind: 'replace', status: 400, headers: { 'content-type': 'text/html' }, body: '<html>400 Bad Request</html>' },
    ],
    ["a proxy's 502", { kind: 'replace', status: 502, body: 'bad gateway' }],
  ];
  for (const [name, fault] of faults) {
    test(`${name}: every write of the txn fails with mayHaveApplied, none is sent again, each applied once`, async () => {
      const prefix = uniquePrefix('once-proxy');
      const keys = ['a', 'b', 'c'];
      await seed(prefix, keys, 'old');
      const proxy = await startFaultProxy({ upstream: etcdUnderTest.upstream, fault: faultOnce(isWriteTxn, fault) });
      try {
        const etcd = client({ endpoints: [proxy.endpoint], maxResponseBytes: 1024 * 1024 });
        const results = await Promise.allSettled(keys.map((key) => etcd.put(`${prefix}${key}`, 'new')));
        assertEachMayHaveApplied(results);
        const writes = proxy.requests.filter((r) => r.path.startsWith('/v3/kv/') && r.path !== '/v3/kv/range');
        assert.deepEqual(
          writes.map((r) => [r.path, r.forwarded]),
          [['/v3/kv/txn', 1]],
          'one txn reached etcd, and no write was sent again',
        );
        assert.deepEqual(await versions(prefix, keys), [2, 2, 2], 'each put applied exactly once');
      } finally {
        await proxy.close();
      }
    });
  }
});
