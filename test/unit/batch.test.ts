import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchLike } from '../../src/core/call-options.ts';
import { createCore } from '../../src/core/client-core.ts';
import {
  AbortedError,
  FutureRevisionError,
  InvalidArgumentError,
  TimeoutError,
  UnavailableError,
} from '../../src/core/errors.ts';
import type { KeySelector } from '../../src/core/keyspace.ts';
import { Transport } from '../../src/core/transport.ts';
import { ReadBatcher } from '../../src/kv/batch.ts';
import { count, get, range } from '../../src/kv/kv.ts';

// Shapes recorded from etcd 3.4.23's gateway: a txn of request_range operations answers one
// response_range per operation whose header holds only the revision.
const HEADER = { cluster_id: '1977980388956726249', member_id: '1800983314457423538', revision: '7', raft_term: '2' };
const FUTURE =
  '{"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}';

interface Sent {
  path: string;
  body: Record<string, unknown>;
}

/** A fake gateway where every key `k` holds the value `k`, except keys starting with "missing". */
function gateway(
  options: {
    txn?: (body: Record<string, unknown>) => Response | undefined;
    range?: (body: Record<string, unknown>) => Response | undefined;
  } = {},
) {
  const sent: Sent[] = [];
  const rangeAnswer = (request: Record<string, unknown>) => {
    const key = request.key as string;
    if (atob(key).startsWith('missing')) return { header: { revision: HEADER.revision } };
    return {
      header: { revision: HEADER.revision },
      kvs: [{ key, create_revision: '2', mod_revision: '5', version: '1', value: key }],
      count: '1',
    };
  };
  const fetch: FetchLike = async (request) => {
    const path = new URL(request.url).pathname.replace('/v3', '');
    const body = JSON.parse(await request.text()) as Record<string, unknown>;
    sent.push({ path, body });
    if (path === '/kv/txn') {
      const special = options.txn?.(body);
      if (special) return special;
      const success = body.success as Array<{ request_range: Record<string, unknown> }>;
      const responses = success.map((operation) => ({ response_range: rangeAnswer(operation.request_range) }));
      return Response.json({ header: HEADER, succeeded: true, responses });
    }
    const special = options.range?.(body);
    if (special) return special;
    return Response.json({ ...rangeAnswer(body), header: HEADER });
  };
  return { fetch, sent };
}

/** The KV functions bound to a client core whose reads are batched. */
function kv(fetch: FetchLike, maxOps?: number, timeout = 2_000) {
  const core = createCore({ endpoints: ['http://127.0.0.1:1'], fetch, timeout, batch: { maxOps } });
  return {
    get: (key: string, options?: Parameters<typeof get>[2]) => get(core, key, options),
    range: (selector: KeySelector, options?: Parameters<typeof range>[2]) => range(core, selector, options),
    count: (selector: KeySelector, options?: Parameters<typeof count>[2]) => count(core, selector, options),
  };
}

const encoded = (key: string) => btoa(key);

describe('read batching', () => {
  test('reads of one tick travel as one txn of request_range operations, each caller getting its own answer', async () => {
    const { fetch, sent } = gateway();
    const client = kv(fetch);
    const [a, missing, b, count] = await Promise.all([
      client.get('a'),
      client.get('missing-1'),
      client.range({ key: 'b' }, { limit: 1 }),
      client.count({ prefix: 'c' }),
    ]);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.path, '/kv/txn');
    assert.deepEqual(Object.keys(sent[0]!.body), ['success'], 'no compare, no failure branch');
    const ops = sent[0]!.body.success as Array<{ request_range: Record<string, unknown> }>;
    assert.deepEqual(ops[0], { request_range: { key: encoded('a') } });
    assert.deepEqual(ops[2], { request_range: { key: encoded('b'), limit: '1' } });
    assert.equal(ops[3]!.request_range.count_only, true);
    assert.equal(a?.valueText, 'a');
    assert.equal(missing, undefined);
    assert.equal(b.kvs[0]?.keyText, 'b');
    assert.equal(count, 1);
  });

  test('each answer carries the txn full header, as a single range would', async () => {
    const { fetch } = gateway();
    const client = kv(fetch);
    const [one, two] = await Promise.all([client.range({ key: 'a' }), client.range({ key: 'b' })]);
    for (const result of [one, two]) {
      assert.equal(result.revision, 7);
      assert.equal(result.header.clusterId, HEADER.cluster_id);
      assert.equal(result.header.memberId, HEADER.member_id);
      assert.equal(result.header.raftTerm, 2);
    }
  });

  test('a read alone in its tick goes as a plain /kv/range', async () => {
    const { fetch, sent } = gateway();
    const client = kv(fetch);
    assert.equal((await client.get('a'))?.valueText, 'a');
    assert.equal((await client.get('b'))?.valueText, 'b');
    assert.deepEqual(
      sent.map((s) => s.path),
      ['/kv/range', '/kv/range'],
    );
  });

  test('more reads than maxOps split into several txns, in order; a remainder of one goes alone', async () => {
    const { fetch, sent } = gateway();
    const client = kv(fetch, 2);
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    const values = await Promise.all(keys.map((key) => client.get(key)));
    assert.deepEqual(
      values.map((v) => v?.valueText),
      keys,
    );
    assert.deepEqual(
      sent.map((s) => [s.path, s.path === '/kv/txn' ? (s.body.success as unknown[]).length : 1]),
      [
        ['/kv/txn', 2],
        ['/kv/txn', 2],
        ['/kv/range', 1],
      ],
    );
  });

  test('reads travel together only with the same serializable flag and the same revision', async () => {
    const { fetch, sent } = gateway();
    const client = kv(fetch);
    await Promise.all([
      client.get('a'),
      client.get('b', { serializable: true }),
      client.get('c'),
      client.get('d', { revision: 3 }),
      client.get('e', { serializable: true }),
      client.get('f', { revision: 3 }),
      client.get('g', { revision: 4 }),
    ]);
    const groups = sent.map((s) =>
      s.path === '/kv/txn'
        ? (s.body.success as Array<{ request_range: { key: string } }>).map((o) => atob(o.request_range.key)).join('')
        : atob(s.body.key as string),
    );
    assert.deepEqual(groups.sort(), ['ac', 'be', 'df', 'g']);
  });

  test('when the txn fails for something one read asked for, each read is sent alone and gets its own answer or error', async () => {
    // The gateway fails any txn that holds a read of "bad"; a single range of "bad" fails too.
    const hasBad = (request: Record<string, unknown>) => atob(request.key as string) === 'bad';
    const error = () => new Response(FUTURE, { status: 400 });
    const { fetch, sent } = gateway({
      txn: (body) =>
        (body.success as Array<{ request_range: Record<string, unknown> }>).some((o) => hasBad(o.request_range))
          ? error()
          : undefined,
      range: (body) => (hasBad(body) ? error() : undefined),
    });
    const client = kv(fetch);
    const results = await Promise.allSettled([client.get('a'), client.get('bad'), client.get('c')]);
    assert.equal(results[0].status === 'fulfilled' && results[0].value?.valueText, 'a');
    assert.ok(results[1].status === 'rejected' && results[1].reason instanceof FutureRevisionError);
    assert.equal(results[2].status === 'fulfilled' && results[2].value?.valueText, 'c');
    assert.deepEqual(
      sent.map((s) => s.path),
      ['/kv/txn', '/kv/range', '/kv/range', '/kv/range'],
    );
  });

  test('a txn that cannot reach etcd fails every read with the same error, without resending them one by one', async () => {
    const paths: string[] = [];
    const fetch: FetchLike = async (request) => {
      paths.push(new URL(request.url).pathname);
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    };
    const client = kv(fetch, undefined, 150);
    const results = await Promise.allSettled([client.get('a'), client.get('b')]);
    for (const result of results) {
      assert.ok(
        result.status === 'rejected' &&
          (result.reason instanceof TimeoutError || result.reason instanceof UnavailableError),
        String(result),
      );
    }
    assert.ok(paths.length >= 1);
    assert.ok(
      paths.every((path) => path === '/v3/kv/txn'),
      `no read is sent alone: ${paths.join(' ')}`,
    );
  });

  test("a batch that times out gives each read a TimeoutError naming its own call and deadline, not the txn's", async () => {
    const hang: FetchLike = (request) =>
      new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)));
    const client = kv(hang, undefined, 400);
    const results = await Promise.allSettled([client.get('a'), client.get('b')]);
    for (const result of results) {
      assert.ok(result.status === 'rejected' && result.reason instanceof TimeoutError, String(result));
      assert.equal(result.reason.path, '/v3/kv/range');
      assert.match(result.reason.message, /^\/v3\/kv\/range did not finish within 400 ms/);
    }
  });

  test('an aborted read rejects with AbortedError while the others of its tick succeed', async () => {
    const { fetch, sent } = gateway();
    const client = kv(fetch);
    const controller = new AbortController();
    const pending = Promise.allSettled([
      client.get('a'),
      client.get('b', { signal: controller.signal }),
      client.get('c'),
    ]);
    controller.abort();
    const [a, b, c] = await pending;
    assert.ok(b.status === 'rejected' && b.reason instanceof AbortedError, String(b));
    assert.equal(a.status === 'fulfilled' && a.value?.valueText, 'a');
    assert.equal(c.status === 'fulfilled' && c.value?.valueText, 'c');
    const ops = sent[0]!.body.success as unknown[];
    assert.equal(ops.length, 2, 'the aborted read was left out');
  });

  test('a read already aborted rejects with AbortedError and sends nothing', async () => {
    const { fetch, sent } = gateway();
    await assert.rejects(kv(fetch).get('a', { signal: AbortSignal.abort() }), AbortedError);
    assert.equal(sent.length, 0);
  });

  test('a read with its own short timeout times out alone; the batch carries on for the others', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { fetch: answer } = gateway();
    const slow: FetchLike = async (request, init) => {
      await gate;
      return answer(request, init);
    };
    const client = kv(slow);
    const pending = Promise.allSettled([client.get('a'), client.get('b', { timeout: 20 }), client.get('c')]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    release();
    const [a, b, c] = await pending;
    assert.ok(b.status === 'rejected' && b.reason instanceof TimeoutError, String(b));
    assert.equal(a.status === 'fulfilled' && a.value?.valueText, 'a');
    assert.equal(c.status === 'fulfilled' && c.value?.valueText, 'c');
  });

  test('when every caller of a batch gave up, its request is cancelled', async () => {
    let cancelled = false;
    const fetch: FetchLike = (request) =>
      new Promise((_, reject) =>
        request.signal.addEventListener('abort', () => {
          cancelled = true;
          reject(request.signal.reason);
        }),
      );
    const client = kv(fetch);
    const controller = new AbortController();
    const pending = Promise.allSettled([
      client.get('a', { signal: controller.signal }),
      client.get('b', { signal: controller.signal }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    const results = await pending;
    for (const result of results) assert.ok(result.status === 'rejected' && result.reason instanceof AbortedError);
    assert.equal(cancelled, true);
  });

  test('maxOps must be a positive integer', () => {
    const transport = new Transport({ endpoints: ['http://127.0.0.1:1'] });
    for (const maxOps of [0, -1, 1.5, Number.NaN])
      assert.throws(() => new ReadBatcher(transport, { maxOps }), InvalidArgumentError);
  });
});
