// The relay's hub: clients of the same keys share one upstream etcd watch per pool, recent events
// serve resumes, a slow client holds nobody back, and the upstream watch lives as long as its
// clients (plus a linger). relayWatch is called in-process against a real etcd; the watch
// streams the client opens are counted with its `fetch`.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { RelayPool, relayWatch } from 'etcd-fetch/relay';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { type SseMessage, SseReader, sleep } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();
const clients: Etcd[] = [];
after(async () => {
  for (const etcd of clients) await etcd.close();
});

/** A client whose watch-stream requests are recorded (each is one upstream stream opened). */
function countingClient(): { etcd: Etcd; streams: Request[]; bodies: Promise<string>[] } {
  const streams: Request[] = [];
  const bodies: Promise<string>[] = [];
  const etcd = new Etcd({
    endpoints: etcdUnderTest.endpoint,
    fetch: (request, init) => {
      if (new URL(request.url).pathname.endsWith('/v3/watch')) {
        bodies.push(request.clone().text());
        streams.push(request);
      }
      return fetch(request, init);
    },
  });
  clients.push(etcd);
  return { etcd, streams, bodies };
}

/** Waits (20 s at most) until `count` watch streams were opened. */
async function reopened(streams: Request[], count: number): Promise<void> {
  for (let waited = 0; streams.length < count && waited < 20_000; waited += 100) await sleep(100);
  assert.equal(streams.length, count, 'the watch stream was not reopened');
}

/** How many watchers a watch stream's request body creates. */
const creates = (body: string) => body.split('\n').filter((line) => line.includes('"create_request"')).length;

let writerClient: Etcd | undefined;
function writer(): Etcd {
  if (writerClient === undefined) clients.push((writerClient = new Etcd({ endpoints: etcdUnderTest.endpoint })));
  return writerClient;
}

const request = (lastEventId?: string) =>
  new Request('http://relay.test/events', {
    headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
  });

/** The next `count` puts a client reads (other messages skipped). */
async function puts(sse: SseReader, count: number, ms = 10_000): Promise<SseMessage[]> {
  const seen: SseMessage[] = [];
  while (seen.length < count) {
    const message = await sse.next(ms);
    assert.ok(message, 'the stream ended early');
    assert.notEqual(message.event, 'error', `the relay sent an error: ${message.data}`);
    if (message.event === 'put') seen.push(message);
  }
  return seen;
}

const keyOf = (message: SseMessage) => JSON.parse(message.data).kv.key as string;

async function subscribeAll(etcd: Etcd, prefix: string, pool: RelayPool, count: number): Promise<SseReader[]> {
  const readers: SseReader[] = [];
  for (let i = 0; i < count; i++) {
    const sse = new SseReader((await relayWatch(etcd, request(), { prefix }, { pool })).body);
    await sse.until('ready');
    readers.push(sse);
  }
  return readers;
}

async function cancelAll(readers: SseReader[]): Promise<void> {
  for (const sse of readers) await sse.reader.cancel().catch(() => {});
}

describe('relay hub: one upstream watch shared by the clients of a prefix', () => {
  test('20 clients of one prefix share exactly one upstream watch stream; each gets every event once, in order', async () => {
    const { etcd, streams } = countingClient();
    const prefix = uniquePrefix('relay-hub-fanout');
    const pool = new RelayPool();
    const readers = await subscribeAll(etcd, prefix, pool, 20);
    try {
      const keys = Array.from({ length: 10 }, (_, i) => `${prefix}k${i}`);
      for (const key of keys) await writer().put(key, 'v');
      for (const sse of readers) {
        const seen = await puts(sse, keys.length);
        assert.deepEqual(seen.map(keyOf), keys);
        assert.deepEqual(
          seen.map((m) => Number(m.id)),
          seen.map((m) => JSON.parse(m.data).revision),
        );
      }
      assert.equal(streams.length, 1, `${streams.length} watch streams opened`);
      assert.equal(pool.upstreams, 1);
    } finally {
      await cancelAll(readers);
    }
  });

  test('a client resuming from an id the ring still holds gets exactly the missed events, without a new upstream request', async () => {
    const { etcd, streams } = countingClient();
    const prefix = uniquePrefix('relay-hub-ring');
    const pool = new RelayPool();
    const [stays, leaves] = await subscribeAll(etcd, prefix, pool, 2);
    try {
      await writer().put(`${prefix}k0`, 'v');
      const [seen] = await puts(leaves!, 1);
      await leaves!.reader.cancel();
      for (let i = 1; i <= 3; i++) await writer().put(`${prefix}k${i}`, 'v');
      await puts(stays!, 4);
      const back = new SseReader((await relayWatch(etcd, request(seen!.id), { prefix }, { pool })).body);
      try {
        assert.deepEqual(
          (await puts(back, 3)).map(keyOf),
          [1, 2, 3].map((i) => `${prefix}k${i}`),
        );
        await writer().put(`${prefix}k4`, 'v');
        assert.deepEqual((await puts(back, 1)).map(keyOf), [`${prefix}k4`]);
      } finally {
        await back.reader.cancel();
      }
      assert.equal(streams.length, 1, `${streams.length} watch streams opened`);
    } finally {
      await cancelAll([stays!]);
    }
  });

  test('a client resuming from before the ring catches up on a watch of its own, then rejoins the hub: every event once, in order, under a steady writer', async () => {
    const { etcd, streams, bodies } = countingClient();
    const prefix = uniquePrefix('relay-hub-old');
    const pool = new RelayPool({ ringEvents: 2 });
    const [stays, leaves] = await subscribeAll(etcd, prefix, pool, 2);
    try {
      await writer().put(`${prefix}k0`, 'v');
      const [seen] = await puts(leaves!, 1);
      await leaves!.reader.cancel();
      const missed = [1, 2, 3, 4, 5].map((i) => `${prefix}k${i}`);
      for (const key of missed) await writer().put(key, 'v');
      await puts(stays!, 6);
      const back = new SseReader((await relayWatch(etcd, request(seen!.id), { prefix }, { pool })).body);
      try {
        // Writes go on while it catches up and hands over.
        const later = Array.from({ length: 40 }, (_, i) => `${prefix}k${String(i + 6).padStart(2, '0')}`);
        const writing = (async () => {
          for (const key of later) await writer().put(key, 'v');
        })();
        const got = await puts(back, missed.length + later.length);
        await writing;
        assert.deepEqual(got.map(keyOf), [...missed, ...later]);
        assert.deepEqual(
          got.map((m) => Number(m.id)),
          got.map((m) => JSON.parse(m.data).revision),
        );
        assert.deepEqual(
          (await puts(stays!, later.length)).map((m) => m.id),
          got.slice(missed.length).map((m) => m.id),
        );
        // Its own watch joined the client's stream (a second stream), then closed: the stream is
        // reopened carrying the hub's watch alone, which goes on serving it.
        await reopened(streams, 3);
        assert.deepEqual(await Promise.all(bodies.map(async (body) => creates(await body))), [1, 2, 1]);
        await writer().put(`${prefix}k99`, 'v');
        assert.deepEqual((await puts(back, 1)).map(keyOf), [`${prefix}k99`]);
        assert.deepEqual((await puts(stays!, 1)).map(keyOf), [`${prefix}k99`]);
        assert.equal(streams.length, 3, `${streams.length} watch streams opened`);
        assert.equal(pool.upstreams, 1);
      } finally {
        await back.reader.cancel();
      }
    } finally {
      await cancelAll([stays!]);
    }
  });

  test('a client resuming from before the ring with no hub open opens it, catches up and rejoins it', async () => {
    const { etcd, streams, bodies } = countingClient();
    const prefix = uniquePrefix('relay-hub-cold');
    const pool = new RelayPool({ ringEvents: 2, linger: 50 });
    const [first] = await subscribeAll(etcd, prefix, pool, 1);
    await writer().put(`${prefix}k0`, 'v');
    const [seen] = await puts(first!, 1);
    await first!.reader.cancel();
    while (pool.upstreams > 0) await sleep(20);
    const missed = [1, 2, 3].map((i) => `${prefix}k${i}`);
    for (const key of missed) await writer().put(key, 'v');
    const back = new SseReader((await relayWatch(etcd, request(seen!.id), { prefix }, { pool })).body);
    try {
      assert.deepEqual((await puts(back, 3)).map(keyOf), missed);
      // The hub opened with it; a put after it caught up reaches it from the hub.
      await writer().put(`${prefix}k4`, 'v');
      assert.deepEqual((await puts(back, 1)).map(keyOf), [`${prefix}k4`]);
      await reopened(streams, 3);
      assert.equal(creates(await bodies.at(-1)!), 1, 'the stream still carries the watch of its own');
      await writer().put(`${prefix}k5`, 'v');
      assert.deepEqual((await puts(back, 1)).map(keyOf), [`${prefix}k5`]);
      assert.equal(pool.upstreams, 1);
    } finally {
      await back.reader.cancel();
    }
  });

  test('a client that stops reading is parked at maxBufferedBytes without holding the others back, then catches up', async () => {
    const { etcd } = countingClient();
    const prefix = uniquePrefix('relay-hub-slow');
    const pool = new RelayPool();
    const maxBufferedBytes = 64 * 1024;
    const open = async () => {
      const sse = new SseReader((await relayWatch(etcd, request(), { prefix }, { pool, maxBufferedBytes })).body);
      await sse.until('ready');
      return sse;
    };
    const fast = await open();
    const slow = await open();
    try {
      const value = 'x'.repeat(4 * 1024);
      const keys = Array.from({ length: 200 }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
      const reading = puts(fast, keys.length);
      for (let i = 0; i < keys.length; i += 20)
        await Promise.all(keys.slice(i, i + 20).map((key) => writer().put(key, value)));
      const seenFast = await reading;
      assert.deepEqual([...seenFast.map(keyOf)].sort(), keys);
      assert.ok(pool.bufferedBytes <= maxBufferedBytes + 8 * 1024, `the slow client holds ${pool.bufferedBytes} bytes`);
      // The slow client reads at last: every event once, in the order the fast one saw.
      const seenSlow = await puts(slow, keys.length);
      assert.deepEqual(
        seenSlow.map((m) => m.id),
        seenFast.map((m) => m.id),
      );
      assert.deepEqual(seenSlow.map(keyOf), seenFast.map(keyOf));
    } finally {
      await cancelAll([fast, slow]);
    }
  });

  test('the upstream watch opens with the first client, survives a leave within the linger, and closes after the last client plus the linger', async () => {
    const { etcd, streams } = countingClient();
    const prefix = uniquePrefix('relay-hub-life');
    const pool = new RelayPool({ linger: 300 });
    assert.equal(pool.upstreams, 0);
    const [first] = await subscribeAll(etcd, prefix, pool, 1);
    assert.equal(streams.length, 1);
    assert.equal(pool.upstreams, 1);
    await first!.reader.cancel();
    // Back within the linger: the same upstream watch.
    const [second, third] = await subscribeAll(etcd, prefix, pool, 2);
    assert.equal(streams.length, 1);
    await cancelAll([second!, third!]);
    await sleep(100);
    assert.equal(pool.upstreams, 1, 'closed before the linger');
    assert.equal(streams[0]!.signal.aborted, false);
    await sleep(500);
    assert.equal(pool.upstreams, 0, 'still open after the linger');
    assert.equal(streams[0]!.signal.aborted, true, 'the watch stream is still open');
    // The next client opens a new one.
    const [fourth] = await subscribeAll(etcd, prefix, pool, 1);
    await writer().put(`${prefix}k`, 'v');
    assert.deepEqual((await puts(fourth!, 1)).map(keyOf), [`${prefix}k`]);
    assert.equal(streams.length, 2);
    assert.equal(pool.upstreams, 1);
    await fourth!.reader.cancel();
  });

  test('with resumeSecret, the clients of a hub get signed ids, and a signed id resumes from the ring', async () => {
    const { etcd, streams } = countingClient();
    const prefix = uniquePrefix('relay-hub-signed');
    const pool = new RelayPool();
    const resumeSecret = 'a-secret-of-at-least-32-characters-for-tests';
    const open = async (lastEventId?: string) =>
      new SseReader((await relayWatch(etcd, request(lastEventId), { prefix }, { pool, resumeSecret })).body);
    const [stays, leaves] = [await open(), await open()];
    try {
      await stays.until('ready');
      await leaves.until('ready');
      await writer().put(`${prefix}k0`, 'v');
      const [seen] = await puts(leaves, 1);
      assert.match(seen!.id!, /^\d+~/);
      assert.deepEqual(
        (await puts(stays, 1)).map((m) => m.id),
        [seen!.id],
      );
      await leaves.reader.cancel();
      await writer().put(`${prefix}k1`, 'v');
      const back = await open(seen!.id);
      try {
        const [next] = await puts(back, 1);
        assert.equal(keyOf(next!), `${prefix}k1`);
        assert.match(next!.id!, /^\d+~/);
      } finally {
        await back.reader.cancel();
      }
      assert.equal(streams.length, 1, `${streams.length} watch streams opened`);
    } finally {
      await stays.reader.cancel();
    }
  });
});
