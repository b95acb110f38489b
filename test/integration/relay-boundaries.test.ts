// The relay's resume boundaries against a real etcd: the ring's floor exactly at the revision it
// just evicted, and the resume window exactly at the id of the `ready` event.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Etcd, type WatchOptions } from 'etcd-fetch';
import { RelayPool, relayWatch, type Watchable } from 'etcd-fetch/relay';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { type SseMessage, SseReader } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();
let shared: Etcd | undefined;
const client = () => (shared ??= new Etcd({ endpoints: etcdUnderTest.endpoint }));
after(() => shared?.close());

const request = (lastEventId?: string) =>
  new Request('http://relay.test/events', {
    headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
  });

/** The client's watches, counted. */
function counted(): Watchable & { opened: WatchOptions[] } {
  const opened: WatchOptions[] = [];
  return {
    opened,
    watch: (options) => {
      opened.push(options);
      return client().watch(options);
    },
  };
}

/** The next `count` messages of type put (or a `compacted`/`error` that ends it), with a bounded wait each. */
async function puts(sse: SseReader, count: number): Promise<SseMessage[]> {
  const seen: SseMessage[] = [];
  while (seen.length < count) {
    const message = await sse.next(10_000);
    if (message === undefined) break;
    if (message.event === 'compacted' || message.event === 'error') return [...seen, message];
    if (message.event === 'put') seen.push(message);
  }
  return seen;
}
const keyOf = (m: SseMessage) => (m.event === 'put' ? JSON.parse(m.data).kv.key : m.event);

describe('relay resume boundaries', () => {
  test('a resume starting at the revision just evicted from the ring gets that revision (from a watch of its own); one revision later is served by the ring', async () => {
    const prefix = uniquePrefix('relay-ring-edge');
    const etcd = counted();
    const pool = new RelayPool({ ringEvents: 3 });
    const live = new SseReader((await relayWatch(etcd, request(), { prefix }, { pool })).body);
    const readers = [live];
    try {
      await live.until('ready');
      const revisions: number[] = [];
      for (let i = 1; i <= 5; i++) revisions.push((await client().put(`${prefix}k${i}`, String(i))).revision);
      assert.deepEqual(
        (await puts(live, 5)).map(keyOf),
        [1, 2, 3, 4, 5].map((i) => `${prefix}k${i}`),
      );
      // The ring holds k3..k5: k1 and k2 (revisions[1]) were just evicted.
      assert.equal(etcd.opened.length, 1);
      const atEvicted = new SseReader(
        (await relayWatch(etcd, request(String(revisions[1]! - 1)), { prefix }, { pool })).body,
      );
      readers.push(atEvicted);
      assert.deepEqual(
        (await puts(atEvicted, 4)).map(keyOf),
        [2, 3, 4, 5].map((i) => `${prefix}k${i}`),
        'a resume from the evicted revision lost it',
      );
      assert.equal(etcd.opened.length, 2, 'the evicted revision came from a watch of its own');
      assert.equal(etcd.opened[1]!.startRevision, revisions[1]);
      const atFloor = new SseReader((await relayWatch(etcd, request(String(revisions[1])), { prefix }, { pool })).body);
      readers.push(atFloor);
      assert.deepEqual(
        (await puts(atFloor, 3)).map(keyOf),
        [3, 4, 5].map((i) => `${prefix}k${i}`),
      );
      assert.equal(etcd.opened.length, 2, 'a resume the ring holds opens no watch');
    } finally {
      for (const reader of readers) await reader.reader.cancel().catch(() => {});
    }
  });

  for (const sharedWatch of [true, false]) {
    test(`a client that received only the ready event resumes from its id when it reconnects, losing nothing (shared: ${sharedWatch})`, async () => {
      const prefix = uniquePrefix('relay-ready-only');
      const pool = new RelayPool();
      const first = new SseReader(
        (await relayWatch(client(), request(), { prefix }, { pool, shared: sharedWatch })).body,
      );
      const ready = (await first.until('ready')).at(-1)!;
      await first.reader.cancel();
      assert.equal(ready.id, String(JSON.parse(ready.data).revision));
      await client().put(`${prefix}after-ready`, '1');
      const again = new SseReader(
        (await relayWatch(client(), request(ready.id), { prefix }, { pool, shared: sharedWatch })).body,
      );
      try {
        assert.deepEqual(
          (await puts(again, 1)).map(keyOf),
          [`${prefix}after-ready`],
          'the reconnect was refused or lost the change',
        );
      } finally {
        await again.reader.cancel().catch(() => {});
      }
    });
  }

  test('oldestResume is inclusive: a resume starting exactly at it is served, one revision earlier is refused', async () => {
    const prefix = uniquePrefix('relay-oldest-edge');
    const { revision } = await client().put(`${prefix}a`, '1');
    await client().put(`${prefix}b`, '2');
    const at = new SseReader(
      (
        await relayWatch(
          client(),
          request(String(revision - 1)),
          { prefix },
          { pool: new RelayPool(), oldestResume: revision },
        )
      ).body,
    );
    const before = new SseReader(
      (
        await relayWatch(
          client(),
          request(String(revision - 2)),
          { prefix },
          { pool: new RelayPool(), oldestResume: revision },
        )
      ).body,
    );
    try {
      assert.deepEqual((await puts(at, 2)).map(keyOf), [`${prefix}a`, `${prefix}b`]);
      const refused = await puts(before, 1);
      assert.deepEqual(
        refused.map((m) => [m.event, JSON.parse(m.data).compactRevision]),
        [['compacted', revision]],
      );
    } finally {
      await at.reader.cancel().catch(() => {});
      await before.reader.cancel().catch(() => {});
    }
  });
});
