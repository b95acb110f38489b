import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, type FetchLike, op, type ReflectorUpdate, reflect, WatchCompactedError } from 'etcd-fetch';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { collect, eventually, summary, within } from './watch-helpers.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter((fetch?: FetchLike) => new Etcd({ endpoints: [etcdUnderTest.endpoint], fetch }));

/**
 * A fetch that counts `/v3/watch` requests and how many are open at once (until their body
 * ends), and can hold them back until released.
 */
function countingFetch(): {
  fetch: FetchLike;
  watchRequests: () => number;
  maxOpen: () => number;
  hold: () => void;
  release: () => void;
} {
  let count = 0;
  let open = 0;
  let maxOpen = 0;
  let gate: Promise<void> | undefined;
  let openGate: (() => void) | undefined;
  const fetch: FetchLike = async (request, init) => {
    if (new URL(request.url).pathname !== '/v3/watch') return globalThis.fetch(request, init);
    count++;
    if (gate) await gate;
    open++;
    maxOpen = Math.max(maxOpen, open);
    let closed = false;
    const done = () => {
      if (!closed) open--;
      closed = true;
    };
    let response: Response;
    try {
      response = await globalThis.fetch(request, init);
    } catch (error) {
      done();
      throw error;
    }
    const reader = response.body!.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await reader.read();
          if (chunk.done) {
            done();
            controller.close();
          } else controller.enqueue(chunk.value);
        } catch (error) {
          done();
          controller.error(error);
        }
      },
      cancel(reason) {
        done();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return {
    fetch,
    watchRequests: () => count,
    maxOpen: () => maxOpen,
    hold: () => (gate = new Promise((resolve) => (openGate = resolve))),
    release: () => {
      gate = undefined;
      openGate?.();
    },
  };
}

describe('watch against a real etcd', () => {
  test('reports puts and deletes with prevKv, in order, with their revisions', async () => {
    const etcd = client();
    const p = uniquePrefix('watch');
    await using watch = etcd.watch({ prefix: p, prevKv: true });
    await watch.ready;
    const one = await etcd.put(`${p}a`, '1');
    const two = await etcd.put(`${p}a`, '2');
    const gone = await etcd.del(`${p}a`);
    const events = await collect(watch, (e) => e.length === 3);
    assert.deepEqual(events.map(summary), [
      `put ${p}a=1@${one.revision}`,
      `put ${p}a=2@${two.revision}`,
      `delete ${p}a=@${gone.revision}`,
    ]);
    assert.equal(events[0]!.prevKv, undefined);
    assert.equal(events[1]!.prevKv?.valueText, '1');
    assert.equal(events[2]!.prevKv?.valueText, '2');
    assert.equal(events[1]!.kv.version, 2);
  });

  test('a key watch sees only its key; a range watch only [from, to)', async () => {
    const etcd = client();
    const p = uniquePrefix('watch');
    await using keyWatch = etcd.watch({ key: `${p}b` });
    await using rangeWatch = etcd.watch({ from: `${p}b`, to: `${p}d` });
    await Promise.all([keyWatch.ready, rangeWatch.ready]);
    for (const k of ['a', 'b', 'c', 'd', 'bb']) await etcd.put(`${p}${k}`, k);
    assert.deepEqual(
      (await collect(keyWatch, (e) => e.length === 1)).map((e) => e.kv.keyText),
      [`${p}b`],
    );
    assert.deepEqual(
      (await collect(rangeWatch, (e) => e.length === 3)).map((e) => e.kv.keyText),
      [`${p}b`, `${p}c`, `${p}bb`],
    );
  });

  test('filters leave out puts or deletes', async () => {
    const etcd = client();
    const p = uniquePrefix('watch');
    await using noPut = etcd.watch({ prefix: p, filters: { noPut: true } });
    await using noDelete = etcd.watch({ prefix: p, filters: { noDelete: true } });
    await Promise.all([noPut.ready, noDelete.ready]);
    await etcd.put(`${p}x`, '1');
    await etcd.del(`${p}x`);
    await etcd.put(`${p}y`, '2');
    assert.deepEqual(
      (await collect(noPut, (e) => e.length === 1)).map((e) => e.type),
      ['delete'],
    );
    assert.deepEqual(
      (await collect(noDelete, (e) => e.length === 2)).map((e) => `${e.type} ${e.kv.keyText}`),
      [`put ${p}x`, `put ${p}y`],
    );
  });

  test('a start revision in the past replays history, batched per revision in responses()', async () => {
    const etcd = client();
    const p = uniquePrefix('watch');
    const first = await etcd.put(`${p}a`, '1');
    await etcd
      .txn()
      .then(op.put(`${p}b`, '2'), op.put(`${p}c`, '3'))
      .commit();
    await etcd.del(`${p}a`);
    const watch = etcd.watch({ prefix: p, startRevision: first.revision });
    const responses: Array<{
      revision: number;
      events: Array<{ type: string; kv: { keyText: string }; revision: number }>;
    }> = [];
    await within(
      (async () => {
        for await (const response of watch.responses()) {
          responses.push(response);
          if (response.revision >= first.revision + 2) break;
        }
      })(),
      `the replay up to revision ${first.revision + 2} (got ${responses.length} responses)`,
    );
    const events = responses.flatMap((r) => r.events);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.kv.keyText}@${e.revision}`),
      [
        `put ${p}a@${first.revision}`,
        `put ${p}b@${first.revision + 1}`,
        `put ${p}c@${first.revision + 1}`,
        `delete ${p}a@${first.revision + 2}`,
      ],
    );
    assert.equal(responses.at(-1)!.revision, first.revision + 2);
    assert.equal(watch.revision, first.revision + 2);
  });

  test('an aborted signal ends the iteration with AbortedError', async () => {
    const etcd = client();
    const controller = new AbortController();
    const watch = etcd.watch({ prefix: uniquePrefix('watch'), signal: controller.signal });
    await watch.ready;
    setTimeout(() => controller.abort(), 10);
    await assert.rejects(
      within(
        (async () => {
          for await (const _ of watch);
        })(),
        'the iteration to end after the abort',
      ),
      AbortedError,
    );
  });

  test('10,000 writes from a concurrent writer are seen exactly once and in order', async () => {
    const etcd = client();
    const writer = client();
    const p = uniquePrefix('watch10k');
    const watch = etcd.watch({ prefix: p });
    await watch.ready;
    const total = 10_000;
    // Batched writes share a revision (never for the same key): a write is its revision and key.
    const written = new Map<string, string>();
    let nextIndex = 0;
    const worker = async () => {
      while (nextIndex < total) {
        const i = nextIndex++;
        const { revision } = await writer.put(`${p}${i % 97}`, String(i));
        written.set(`${revision} ${p}${i % 97}`, String(i));
      }
    };
    const [events] = await Promise.all([
      collect(watch, (e) => e.length >= total, 120_000),
      Promise.all(Array.from({ length: 8 }, worker)),
    ]);
    watch.close();
    assert.equal(events.length, total);
    events.forEach((event, i) =>
      assert.ok(i === 0 || event.revision >= events[i - 1]!.revision, `event ${i} came out of revision order`),
    );
    const seen = new Map(events.map((e) => [`${e.revision} ${e.kv.keyText}`, e.kv.valueText]));
    assert.equal(seen.size, total, 'no write was seen twice');
    assert.deepEqual(seen, written);
  });

  test('a compacted start revision ends the watch with WatchCompactedError and the compact revision', async () => {
    const etcd = client();
    const p = uniquePrefix('watch');
    const old = await etcd.put(`${p}a`, '1');
    const latest = await etcd.put(`${p}a`, '2');
    await etcd.compact(latest.revision);
    const watch = etcd.watch({ prefix: p, startRevision: old.revision });
    await assert.rejects(
      within(
        (async () => {
          for await (const _ of watch);
        })(),
        'the watch to end with the compaction',
      ),
      (error: unknown) => error instanceof WatchCompactedError && error.compactRevision === latest.revision,
    );
  });

  test('the reflector lists, follows changes, and re-lists to the current state after a compaction', async () => {
    const counting = countingFetch();
    const etcd = client(counting.fetch);
    const writer = client();
    const p = uniquePrefix('reflect');
    await writer.put(`${p}a`, '1');
    await writer.put(`${p}b`, '2');
    await using reflector = reflect(etcd, { prefix: p });
    const updates: ReflectorUpdate[] = [];
    const iterator = reflector[Symbol.asyncIterator]();
    // Hold the watch back so that its start revision gets compacted before it reaches etcd.
    counting.hold();
    const first = await iterator.next();
    assert.equal(first.value?.type, 'list');
    assert.deepEqual([...reflector.items.keys()], [`${p}a`, `${p}b`]);
    await writer.del(`${p}a`);
    await writer.put(`${p}c`, '3');
    const last = await writer.put(`${p}b`, '22');
    await writer.compact(last.revision);
    const pending = iterator.next();
    await eventually(() => counting.watchRequests() >= 1, 'the held watch request');
    counting.release();
    const relisted = await pending;
    assert.equal(relisted.value?.type, 'list');
    assert.equal(reflector.relists, 1);
    assert.deepEqual(
      [...reflector.items.values()].map((kv) => `${kv.keyText}=${kv.valueText}`),
      [`${p}b=22`, `${p}c=3`],
    );
    // And it keeps following.
    await writer.put(`${p}d`, '4');
    const next = await iterator.next();
    updates.push(next.value!);
    assert.equal(next.value?.type, 'events');
    assert.deepEqual([...reflector.items.keys()], [`${p}b`, `${p}c`, `${p}d`]);
    await iterator.return?.();
  });

  test('20 watchers of one client share one connection, and adding or removing watchers loses nothing', async () => {
    const counting = countingFetch();
    const etcd = client(counting.fetch);
    const writer = client();
    const p = uniquePrefix('mux');
    const watches = Array.from({ length: 20 }, (_, i) => etcd.watch({ prefix: `${p}${i}/` }));
    await Promise.all(watches.map((w) => w.ready));
    // One request in the normal case; a reopen when etcd lost the body's tail (see watch-stream.ts).
    assert.ok(counting.watchRequests() <= 3, `${counting.watchRequests()} watch requests`);
    assert.equal(counting.maxOpen(), 1);
    const main = etcd.watch({ prefix: p });
    await main.ready;
    const written: number[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop; i++) written.push((await writer.put(`${p}${i % 25}/k`, String(i))).revision);
    })();
    // Churn: close some watchers, add others, while the writer writes.
    let on22: (typeof watches)[number] | undefined;
    for (let round = 0; round < 8; round++) {
      await new Promise((r) => setTimeout(r, 30));
      watches.shift()!.close();
      const added = etcd.watch({ prefix: `${p}${20 + (round % 5)}/` });
      on22 ??= round % 5 === 2 ? added : undefined;
      watches.push(added);
    }
    await Promise.all(watches.map((w) => w.ready));
    stop = true;
    await writing;
    const final = (await writer.put(`${p}end`, 'end')).revision;
    written.push(final);
    const events = await collect(main, (e) => e.at(-1)?.revision === final, 60_000);
    assert.deepEqual(
      events.map((e) => e.revision),
      written,
    );
    // Every watcher still alive sees its own keys after the churn.
    const probe = await writer.put(`${p}22/k`, 'probe');
    const seen = await collect(on22!, (e) => e.some((x) => x.revision === probe.revision));
    assert.ok(seen.every((e) => e.kv.keyText === `${p}22/k`));
    assert.ok(counting.watchRequests() > 1, 'the churn reopened the shared stream');
    assert.equal(counting.maxOpen(), 1, 'never more than one watch connection at a time');
    main.close();
    for (const w of watches) w.close();
  });

  test('200 watchers joining one by one, then 100 leaving one by one, cost a few reopens, and survivors lose and repeat nothing', async () => {
    const counting = countingFetch();
    const etcd = client(counting.fetch);
    const writer = client();
    const p = uniquePrefix('churn');
    const tick = () => new Promise((r) => setTimeout(r, 1));
    const main = etcd.watch({ prefix: p });
    const watches = [];
    try {
      await main.ready;
      for (let i = 0; i < 200; i++) {
        watches.push(etcd.watch({ prefix: `${p}${i}/` }));
        await tick();
      }
      await Promise.all(watches.map((w) => w.ready));
      const afterJoins = counting.watchRequests();
      // Before coalescing: one stream per join (201).
      assert.ok(afterJoins <= 20, `${afterJoins} watch streams for 200 joins`);
      const written: number[] = [];
      let stop = false;
      const writing = (async () => {
        for (let i = 0; !stop; i++) written.push((await writer.put(`${p}${199 - (i % 50)}/k`, String(i))).revision);
      })();
      for (let i = 0; i < 100; i++) {
        watches.shift()!.close();
        await tick();
      }
      // The leavers are dropped from the stream once changes quiet down: one reopen.
      await eventually(() => counting.watchRequests() > afterJoins, 'the stream to drop the leavers');
      stop = true;
      await writing;
      const final = (await writer.put(`${p}199/k`, 'end')).revision;
      written.push(final);
      const reopens = counting.watchRequests() - afterJoins;
      // Before coalescing: one stream per leave (100).
      assert.ok(reopens <= 3, `${reopens} reopens for 100 leaves`);
      assert.equal(counting.maxOpen(), 1);
      const all = await collect(main, (e) => e.at(-1)?.revision === final);
      assert.deepEqual(
        all.map((e) => e.revision),
        written,
      );
      const last = await collect(watches.at(-1)!, (e) => e.at(-1)?.revision === final);
      assert.deepEqual(
        last.map((e) => e.revision),
        all.filter((e) => e.kv.keyText === `${p}199/k`).map((e) => e.revision),
      );
    } finally {
      main.close();
      for (const w of watches) w.close();
      etcd.close();
      writer.close();
    }
  });

  test('a consumer that falls behind steps off the shared stream and back on without losing events', async () => {
    const counting = countingFetch();
    const etcd = client(counting.fetch);
    const writer = client();
    const p = uniquePrefix('slow');
    const slow = etcd.watch({ prefix: p, maxBufferedEvents: 20 });
    const other = etcd.watch({ prefix: `${p}other/` });
    try {
      await Promise.all([slow.ready, other.ready]);
      const written: number[] = [];
      for (let i = 0; i < 200; i++) written.push((await writer.put(`${p}${i % 7}`, String(i))).revision);
      // Nobody read `slow` so far: it holds at most about 20 events, its other messages dropped.
      const probe = await writer.put(`${p}other/x`, 'y');
      assert.deepEqual(
        (await collect(other, (e) => e.length === 1)).map((e) => e.revision),
        [probe.revision],
      );
      const events = await collect(slow, (e) => e.length === written.length + 1);
      assert.deepEqual(
        events.map((e) => e.revision),
        [...written, probe.revision],
      );
      // Stepping off needs no reopen (its messages are dropped); stepping back on does.
      assert.ok(counting.watchRequests() >= 2, 'the slow watcher rejoined on a new stream');
    } finally {
      slow.close();
      other.close();
      etcd.close();
      writer.close();
    }
  });
});
