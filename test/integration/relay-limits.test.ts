// The relay's memory: bounded in bytes per client and over all clients, measured in-process
// (relayWatch called directly, its body read or left unread) against a real etcd.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { RelayPool, relayWatch } from 'etcd-fetch/relay';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { liveArrayBuffers, SseReader, sleep } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();
const VALUE = 'x'.repeat(30 * 1024);
const MiB = 1024 * 1024;
const clients: Etcd[] = [];
after(async () => {
  for (const etcd of clients) await etcd.close();
});

function client(): Etcd {
  const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
  clients.push(etcd);
  return etcd;
}

/** Writes `count` keys of 30 KiB under `prefix`, 16 at a time. */
async function writeMany(etcd: Etcd, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 16) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 16); j++)
      batch.push(etcd.put(`${prefix}${String(j).padStart(5, '0')}`, VALUE));
    await Promise.all(batch);
  }
}

/** Waits until `measure` stops growing (two readings 300 ms apart within 1 MiB), at most `ms`. */
async function settle(measure: () => number, ms = 8_000): Promise<number> {
  let last = measure();
  for (const start = Date.now(); Date.now() - start < ms; ) {
    await sleep(300);
    const now = measure();
    if (Math.abs(now - last) < MiB) return now;
    last = now;
  }
  return last;
}

describe('relay memory is bounded in bytes', () => {
  test('a client that never reads holds at most maxBufferedBytes, then gets every event once, in order', async () => {
    const etcd = client();
    const writer = client();
    const prefix = uniquePrefix('relay-slow');
    const pool = new RelayPool();
    const abort = new AbortController();
    const response = await relayWatch(
      etcd,
      new Request('http://relay.test/events', { signal: abort.signal }),
      { prefix },
      { pool },
    );
    const sse = new SseReader(response.body);
    try {
      await sse.until('ready');
      const before = liveArrayBuffers();
      const count = 2_000; // 60 MiB of values: the old relay kept them all (its watch buffers 5 000 events)
      await writeMany(writer, prefix, count);
      const grown = (await settle(liveArrayBuffers)) - before;
      assert.ok(pool.bufferedBytes <= 8 * MiB + 64 * 1024, `the client holds ${pool.bufferedBytes} bytes`);
      assert.ok(
        grown < 30 * MiB,
        `array buffers grew by ${(grown / MiB).toFixed(1)} MiB for a client that reads nothing`,
      );

      // The client catches up: every event once, in order, though the relay dropped and resumed.
      const keys: string[] = [];
      const revisions: number[] = [];
      while (keys.length < count) {
        const message = await sse.next(20_000);
        assert.ok(message, 'the stream ended early');
        if (message.event !== 'put') continue;
        const event = JSON.parse(message.data);
        keys.push(event.kv.key);
        revisions.push(event.revision);
      }
      assert.deepEqual(
        [...keys].sort(),
        Array.from({ length: count }, (_, j) => `${prefix}${String(j).padStart(5, '0')}`),
      );
      // Puts of one tick share a revision (write batching): its events come together, in order.
      assert.ok(
        revisions.every((r, i) => i === 0 || r >= revisions[i - 1]!),
        'events out of order',
      );
      assert.ok(pool.bufferedBytes <= 8 * MiB + 64 * 1024);
    } finally {
      abort.abort();
      await sse.reader.cancel().catch(() => {});
    }
  });

  test('revisions of 16 events, each revision bigger than maxBufferedBytes: parked and resumed inside revisions, ids exact', async () => {
    const etcd = client();
    const writer = client();
    const prefix = uniquePrefix('relay-batched');
    const pool = new RelayPool();
    const maxBufferedBytes = 256 * 1024; // a revision of 16 values of 30 KiB is about twice that
    const response = await relayWatch(
      etcd,
      new Request('http://relay.test/events'),
      { prefix },
      { pool, maxBufferedBytes },
    );
    const sse = new SseReader(response.body);
    try {
      await sse.until('ready');
      const count = 480; // 30 revisions, 15 MiB: etcd replays them in answers split into fragments
      await writeMany(writer, prefix, count);
      await settle(() => pool.bufferedBytes, 2_000);
      assert.ok(pool.bufferedBytes <= maxBufferedBytes + 64 * 1024, `the client holds ${pool.bufferedBytes} bytes`);
      const puts: Array<{ id: string; key: string; revision: number }> = [];
      while (puts.length < count) {
        const message = await sse.next(20_000);
        assert.ok(message, 'the stream ended early');
        assert.notEqual(message.event, 'error', message.data);
        if (message.event !== 'put') continue;
        const event = JSON.parse(message.data);
        puts.push({ id: message.id!, key: event.kv.key, revision: event.revision });
      }
      assert.deepEqual(
        puts.map((p) => p.key),
        Array.from({ length: count }, (_, j) => `${prefix}${String(j).padStart(5, '0')}`),
      );
      // Each revision's events carry R.0, R.1, … and the last one R: exact resume points.
      const expected = puts.map((p, i) => {
        const index = puts.findIndex((q) => q.revision === p.revision);
        return puts[i + 1]?.revision === p.revision ? `${p.revision}.${i - index}` : String(p.revision);
      });
      assert.deepEqual(
        puts.map((p) => p.id),
        expected,
      );
      assert.ok(new Set(puts.map((p) => p.revision)).size < count / 2, 'the puts did not share revisions');

      // A reconnect with an id inside a revision gets the rest of it, then what follows.
      const middle = puts.findIndex((p) => /\.7$/.test(p.id));
      const resumed = new SseReader(
        (
          await relayWatch(
            etcd,
            new Request('http://relay.test/events', { headers: { 'last-event-id': puts[middle]!.id } }),
            { prefix },
            { pool, maxBufferedBytes },
          )
        ).body,
      );
      try {
        const again: string[] = [];
        while (again.length < 20) {
          const message = await resumed.next(10_000);
          assert.ok(message, 'the resumed stream ended early');
          if (message.event === 'put') again.push(message.id!);
        }
        assert.deepEqual(
          again,
          puts.slice(middle + 1, middle + 21).map((p) => p.id),
        );
      } finally {
        await resumed.reader.cancel().catch(() => {});
      }
    } finally {
      await sse.reader.cancel().catch(() => {});
    }
  });

  test('clients that never read stay within the pool together: the one holding the most is disconnected', async () => {
    const etcd = client();
    const writer = client();
    const prefix = uniquePrefix('relay-pool');
    const pool = new RelayPool({ maxBytes: 3 * MiB });
    const readers: SseReader[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const response = await relayWatch(
          etcd,
          new Request('http://relay.test/events'),
          { prefix },
          { pool, maxBufferedBytes: 2 * MiB },
        );
        readers.push(new SseReader(response.body));
        await readers[i]!.until('ready');
      }
      let most = 0;
      const writing = writeMany(writer, prefix, 300); // 9 MiB for each client
      const watching = (async () => {
        for (let done = false; !done; ) {
          most = Math.max(most, pool.bufferedBytes);
          done = await Promise.race([writing.then(() => true), sleep(20).then(() => false)]);
        }
      })();
      await writing;
      await watching;
      await settle(() => pool.bufferedBytes, 3_000);
      most = Math.max(most, pool.bufferedBytes);
      assert.ok(most <= 3 * MiB, `the pool held ${most} bytes`);
      assert.ok(pool.disconnects >= 1, 'nobody was disconnected');
      // A disconnected client's stream breaks (its reader would reconnect with Last-Event-ID).
      const outcomes = await Promise.allSettled(
        readers.map(async (r) => {
          while (await r.next(2_000));
        }),
      );
      assert.ok(
        outcomes.some((o) => o.status === 'rejected' && /fell too far behind/.test(String(o.reason))),
        'no stream broke',
      );
    } finally {
      for (const r of readers) await r.reader.cancel().catch(() => {});
    }
  });
});
