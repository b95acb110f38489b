// Every KV call of a client passes one scheduler: a call sees exactly the calls issued before it
// on its keys (un-awaited ones included), whatever path each takes (batched, alone, txn, scan),
// and the time it waits behind them counts toward its own deadline.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, cmp, Etcd, type EtcdOptions, type FetchLike, type KeyValue, op, TimeoutError } from 'etcd-fetch';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { faultOnce, startFaultProxy } from '../helpers/fault-proxy.ts';

const etcdUnderTest = useEtcd();

const client = closedAfter(
  (options: EtcdOptions = {}) => new Etcd({ endpoints: [etcdUnderTest.endpoint], timeout: 10_000, ...options }),
);

async function collect(walk: AsyncIterable<KeyValue>): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  for await (const kv of walk) out.push(kv);
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `signal` aborts, then rejects with its reason (a request that etcd never answers). */
function hang(signal: AbortSignal | null | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

const ROUNDS = 20;

for (const batch of [true, false]) {
  describe(`calls of one tick keep the order issued (batching ${batch ? 'on' : 'off'})`, () => {
    const options: EtcdOptions = batch ? {} : { batch: false };

    test('a txn comparing a key sees the un-awaited put issued before it, every time', async () => {
      const etcd = client(options);
      const prefix = uniquePrefix('sched-txn');
      let seen = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const written = etcd.put(`${prefix}k`, `v${i}`);
        const checked = etcd
          .txn()
          .if(cmp.value(`${prefix}k`, '=', `v${i}`))
          .then(op.get(`${prefix}k`))
          .commit();
        await written;
        if ((await checked).succeeded) seen++;
      }
      assert.equal(seen, ROUNDS, `the txn saw the put ${seen} times of ${ROUNDS}`);
    });

    test('a scan sees the un-awaited put issued before it, every time', async () => {
      const etcd = client(options);
      const prefix = uniquePrefix('sched-scan');
      let seen = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const written = etcd.put(`${prefix}k`, `v${i}`);
        const walked = collect(etcd.scan({ prefix }));
        await written;
        if ((await walked)[0]?.valueText === `v${i}`) seen++;
      }
      assert.equal(seen, ROUNDS, `the scan saw the put ${seen} times of ${ROUNDS}`);
    });

    test('a txn put issued after an un-awaited put is applied after it, every time', async () => {
      const etcd = client(options);
      const prefix = uniquePrefix('sched-txnput');
      let last = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const first = etcd.put(`${prefix}k`, `put ${i}`);
        const second = etcd
          .txn()
          .then(op.put(`${prefix}k`, `txn ${i}`))
          .commit();
        await Promise.all([first, second]);
        if ((await etcd.get(`${prefix}k`))?.valueText === `txn ${i}`) last++;
      }
      assert.equal(last, ROUNDS, `the later txn put was the last write ${last} times of ${ROUNDS}`);
    });

    test('a put issued after an un-awaited scan is not seen by the scan', async () => {
      const etcd = client(options);
      const prefix = uniquePrefix('sched-scan-before');
      await etcd.put(`${prefix}k`, 'old');
      const walked = collect(etcd.scan({ prefix }));
      const written = etcd.put(`${prefix}k`, 'new');
      await written;
      assert.equal((await walked)[0]?.valueText, 'old');
    });
  });
}

describe('time spent waiting behind earlier calls counts toward the deadline', () => {
  /** A client whose single ranges of `key` hang (etcd never answers) until their deadline. */
  function withHungGet(): { etcd: Etcd; key: string } {
    const prefix = uniquePrefix('sched-deadline');
    const key = `${prefix}k`;
    const fetch: FetchLike = async (request, init) => {
      if (new URL(request.url).pathname === '/v3/kv/range') return hang(init?.signal ?? request.signal);
      return globalThis.fetch(request, init);
    };
    // The hung get ends at the client's 3 s deadline: a put that waits for it without a bound settles after that.
    return { etcd: client({ fetch, timeout: 3_000 }), key };
  }

  test('a put queued behind a hung get of its key honours its own timeout', async (t) => {
    const { etcd, key } = withHungGet();
    const hung = etcd.get(key).catch((error: unknown) => error);
    const started = performance.now();
    const error = await etcd.put(key, 'v', { timeout: 1_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    assert.ok(error instanceof TimeoutError, `TimeoutError expected, got ${String(error)}`);
    assert.equal((error as TimeoutError).mayHaveApplied, false, 'it was never sent');
    t.diagnostic(`settled after ${Math.round(elapsed)} ms (timeout 1000 ms)`);
    assert.ok(elapsed < 1_100, `settled after ${Math.round(elapsed)} ms, deadline 1000 ms`);
    assert.ok((await hung) instanceof TimeoutError);
  });

  test('a put queued behind a hung get of its key honours its own signal', async (t) => {
    const { etcd, key } = withHungGet();
    const hung = etcd.get(key).catch((error: unknown) => error);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const error = await etcd.put(key, 'v', { signal: controller.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    assert.ok(error instanceof AbortedError, `AbortedError expected, got ${String(error)}`);
    assert.equal((error as AbortedError).mayHaveApplied, false, 'it was never sent');
    t.diagnostic(`settled after ${Math.round(elapsed)} ms (aborted at 100 ms)`);
    assert.ok(elapsed < 200, `settled ${Math.round(elapsed)} ms after the call, aborted at 100 ms`);
    await hung;
  });

  test('ten chained puts with 1 s timeouts behind a hung get all settle by their own deadline, not at 1, 2, ... 10 s', async (t) => {
    const { etcd, key } = withHungGet();
    const hung = etcd.get(key).catch((error: unknown) => error);
    const started = performance.now();
    const settled = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        etcd.put(key, `v${i}`, { timeout: 1_000 }).then(
          () => ({ error: undefined as unknown, at: performance.now() - started }),
          (error: unknown) => ({ error, at: performance.now() - started }),
        ),
      ),
    );
    for (const { error } of settled) assert.ok(error instanceof TimeoutError, String(error));
    const latest = Math.max(...settled.map((s) => s.at));
    t.diagnostic(`settled at ${settled.map((s) => Math.round(s.at)).join(', ')} ms (timeouts 1000 ms)`);
    assert.ok(
      latest < 1_100,
      `the last settled at ${Math.round(latest)} ms: ${settled.map((s) => Math.round(s.at)).join(', ')}`,
    );
    await hung;
  });

  test('a batched put queued behind a hung get gives up at the client deadline counted from its call', async (t) => {
    const { etcd, key } = withHungGet();
    const hung = etcd.get(key).catch((error: unknown) => error);
    const started = performance.now();
    const error = await etcd.put(key, 'v').then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    assert.ok(error instanceof TimeoutError, `TimeoutError expected, got ${String(error)}`);
    t.diagnostic(`settled after ${Math.round(elapsed)} ms (client timeout 3000 ms)`);
    assert.ok(elapsed < 3_100, `settled after ${Math.round(elapsed)} ms, client deadline 3000 ms`);
    await hung;
  });
});

describe('a later write batch never overtakes an earlier one on the same keys', () => {
  test('put then delete of a key leaves it gone when the first write txn is slow', async () => {
    const prefix = uniquePrefix('sched-overtake');
    let delayed = false;
    const paths: string[] = [];
    const fetch: FetchLike = async (request, init) => {
      const path = new URL(request.url).pathname;
      paths.push(path);
      if (path === '/v3/kv/txn' && !delayed) {
        delayed = true;
        await sleep(300);
      }
      return globalThis.fetch(request, init);
    };
    const etcd = client({ fetch });
    await Promise.all([
      etcd.put(`${prefix}a`, '1'),
      etcd.put(`${prefix}b`, '1'),
      etcd.del(`${prefix}a`),
      etcd.del(`${prefix}c`),
    ]);
    assert.equal(paths[0], '/v3/kv/txn', `the first writes went as one slow txn: ${paths.join(' ')}`);
    assert.equal(
      await client({ batch: false }).get(`${prefix}a`),
      undefined,
      'the delete issued after the put was applied after it',
    );
    assert.equal((await client({ batch: false }).get(`${prefix}b`))?.valueText, '1');
  });

  test('put then delete of a key leaves it gone when a fault proxy delays the first write txn', async () => {
    const prefix = uniquePrefix('sched-overtake-proxy');
    const proxy = await startFaultProxy({
      upstream: etcdUnderTest.upstream,
      fault: faultOnce((r) => r.path === '/v3/kv/txn', { kind: 'delay', beforeForward: 300 }),
    });
    try {
      const etcd = client({ endpoints: [proxy.endpoint] });
      await Promise.all([
        etcd.put(`${prefix}a`, '1'),
        etcd.put(`${prefix}b`, '1'),
        etcd.del(`${prefix}a`),
        etcd.del(`${prefix}c`),
      ]);
      assert.equal(proxy.requests[0]?.fault, 'delay');
      assert.equal(
        await client({ batch: false }).get(`${prefix}a`),
        undefined,
        'the delete issued after the put was applied after it',
      );
    } finally {
      await proxy.close();
    }
  });
});
