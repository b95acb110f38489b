// Which failures of a batched write txn prove that etcd applied nothing (each write is then sent
// again alone), and which leave it unknown (each write fails, mayHaveApplied, nothing resent).
// Error bodies as etcd 3.4.23's gateway writes them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchLike } from '../../src/core/call-options.ts';
import { createCore } from '../../src/core/client-core.ts';
import { put } from '../../src/kv/kv.ts';

const body = (code: number, message: string) => JSON.stringify({ error: message, message, code });

/** A fake gateway: the first txn gets `answer`; single puts succeed. */
function gateway(answer: () => Response) {
  const paths: string[] = [];
  const fetch: FetchLike = async (request) => {
    const path = new URL(request.url).pathname;
    paths.push(path);
    if (path === '/v3/kv/txn') return answer();
    return Response.json({ header: { revision: '9' } });
  };
  return { core: createCore({ endpoints: ['http://127.0.0.1:1'], fetch, timeout: 2_000 }), paths };
}

const unknownOutcomes: Array<[string, () => Response]> = [
  // The 3.4/3.5 gateway's own gRPC client refuses an answer over 4 MiB: etcd applied the txn.
  [
    'the gateway refusing an answer over 4 MiB (429, grpc: received message larger than max)',
    () => new Response(body(8, 'grpc: received message larger than max (5242958 vs. 4194304)'), { status: 429 }),
  ],
  [
    'an UNKNOWN 500 (context deadline exceeded)',
    () => new Response(body(2, 'context deadline exceeded'), { status: 500 }),
  ],
  ['a proxy 400 with an HTML page', () => new Response('<html><body>400 Bad Request</body></html>', { status: 400 })],
  ['a 200 that is not JSON', () => new Response('{"header":{"revision":"9"},"succ', { status: 200 })],
  [
    'a 200 with too few answers',
    () => Response.json({ header: { revision: '9' }, succeeded: true, responses: [{ response_put: {} }] }),
  ],
];

const refusals: Array<[string, () => Response]> = [
  [
    'a duplicate key (400)',
    () => new Response(body(3, 'etcdserver: duplicate key given in txn request'), { status: 400 }),
  ],
  [
    'too many operations (400)',
    () => new Response(body(3, 'etcdserver: too many operations in txn request'), { status: 400 }),
  ],
  ['a request too large (400)', () => new Response(body(3, 'etcdserver: request is too large'), { status: 400 })],
  ['a lease not found (404)', () => new Response(body(5, 'etcdserver: requested lease not found'), { status: 404 })],
  ['permission denied (403)', () => new Response(body(7, 'etcdserver: permission denied'), { status: 403 })],
  ['no space (429)', () => new Response(body(8, 'etcdserver: mvcc: database space exceeded'), { status: 429 })],
];

describe('a batched write txn is resent one by one only when etcd refused it', () => {
  for (const [name, answer] of unknownOutcomes) {
    test(`${name}: every write fails with mayHaveApplied, nothing is sent again`, async () => {
      const { core, paths } = gateway(answer);
      try {
        const results = await Promise.allSettled([put(core, 'a', '1'), put(core, 'b', '2'), put(core, 'c', '3')]);
        assert.deepEqual(paths, ['/v3/kv/txn']);
        for (const result of results) {
          assert.equal(result.status, 'rejected');
          const error = (result as PromiseRejectedResult).reason as { mayHaveApplied?: boolean; path?: string };
          assert.equal(error.mayHaveApplied, true, String(error));
          assert.equal(error.path, '/v3/kv/put');
        }
      } finally {
        core.close();
      }
    });
  }

  for (const [name, answer] of refusals) {
    test(`${name}: etcd applied nothing, each write is sent again alone`, async () => {
      const { core, paths } = gateway(answer);
      try {
        const results = await Promise.allSettled([put(core, 'a', '1'), put(core, 'b', '2'), put(core, 'c', '3')]);
        assert.deepEqual(paths, ['/v3/kv/txn', '/v3/kv/put', '/v3/kv/put', '/v3/kv/put']);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'fulfilled', 'fulfilled'],
        );
      } finally {
        core.close();
      }
    });
  }
});

describe('a write txn is split before sending so that its answer fits maxResponseBytes', () => {
  /** A fake gateway that answers every write of a txn; notes how many writes each txn held. */
  function counting(maxResponseBytes: number) {
    const sizes: number[] = [];
    const fetch: FetchLike = async (request) => {
      const path = new URL(request.url).pathname;
      const sent = JSON.parse(await request.text()) as { success?: unknown[] };
      if (path !== '/v3/kv/txn') {
        sizes.push(1);
        return Response.json({ header: { revision: '9' } });
      }
      sizes.push(sent.success!.length);
      return Response.json({
        header: { revision: '9' },
        succeeded: true,
        responses: sent.success!.map(() => ({ response_put: { header: { revision: '9' } } })),
      });
    };
    return { core: createCore({ endpoints: ['http://127.0.0.1:1'], fetch, maxResponseBytes }), sizes };
  }

  test('with a 2 KiB bound, 30 puts of one tick travel in txns of at most 12, each answer well under the bound', async () => {
    const { core, sizes } = counting(2048);
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => put(core, `k${i}`, 'v')));
      assert.deepEqual(sizes, [12, 12, 6]);
    } finally {
      core.close();
    }
  });

  test('puts asking for prevKv, whose answers have no known size, are not batched', async () => {
    const { core, sizes } = counting(64 * 1024 * 1024);
    try {
      await Promise.all(Array.from({ length: 4 }, (_, i) => put(core, `k${i}`, 'v', { prevKv: true })));
      assert.deepEqual(sizes, [1, 1, 1, 1]);
    } finally {
      core.close();
    }
  });
});
