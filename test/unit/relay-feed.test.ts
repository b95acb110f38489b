// The relay's park and resume when several events share a revision (write batching, txns),
// against a scripted watch: etcd's replay answers carry many revisions of many events each.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyValue } from '../../src/core/key-value.ts';
import type { WatchEvent, WatchOptions, WatchResponse } from '../../src/index.ts';
import { RelayPool, relayWatch, type Watchable } from '../../src/relay/index.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Revisions `from`..`to`, `perRevision` puts each, values of `size` bytes. */
function history(from: number, to: number, perRevision: number, size: number): WatchEvent[] {
  const events: WatchEvent[] = [];
  for (let revision = from; revision <= to; revision++) {
    for (let i = 0; i < perRevision; i++) {
      events.push({
        type: 'put',
        revision,
        kv: new KeyValue(utf8(`k${revision}-${i}`), utf8('x'.repeat(size)), revision, revision, 1, '0'),
      });
    }
  }
  return events;
}

/**
 * A watch over `events` as etcd replays them: everything from the start revision in one answer
 * (optionally after a progress answer), then nothing until closed. Records each watch opened.
 */
function scriptedEtcd(
  events: WatchEvent[],
  options: { progressFirst?: boolean } = {},
): Watchable & { opened: WatchOptions[] } {
  const head = events.at(-1)!.revision;
  const opened: WatchOptions[] = [];
  return {
    opened,
    watch(watchOptions: WatchOptions) {
      opened.push(watchOptions);
      const start = watchOptions.startRevision ?? head + 1;
      let closed = false;
      let wake: (() => void) | undefined;
      return {
        ready: Promise.resolve(),
        revision: start - 1,
        async *responses() {
          if (options.progressFirst) yield { revision: start - 1, events: [], progress: true };
          const replay = events.filter((e) => e.revision >= start);
          if (replay.length > 0 && !closed)
            yield { revision: replay.at(-1)!.revision, events: replay, progress: false };
          while (!closed) await new Promise<void>((resolve) => (wake = resolve));
        },
        close() {
          closed = true;
          wake?.();
        },
      } as never;
    },
  };
}

interface Message {
  id: string | undefined;
  event: string;
  key: string | undefined;
}

/** Reads `count` events off the relay's body (a chunk may hold several SSE messages). */
async function readEvents(body: ReadableStream<Uint8Array>, count: number, onRead: () => void): Promise<Message[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const seen: Message[] = [];
  let buffered = '';
  try {
    while (seen.filter((m) => m.event === 'put').length < count) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended early');
      onRead();
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const text = buffered.slice(0, end + 1);
        buffered = buffered.slice(end + 2);
        if (text.startsWith(':') || text.startsWith('retry:')) continue;
        const field = (name: string) => text.match(new RegExp(`^${name}: (.*)$`, 'm'))?.[1];
        const event = field('event') ?? 'message';
        assert.notEqual(event, 'error', `the relay sent an error: ${text}`);
        const data = field('data');
        seen.push({ id: field('id') ?? undefined, event, key: event === 'put' ? JSON.parse(data!).kv.key : undefined });
      }
      // A slow reader: the relay fills up, parks, and resumes while we dawdle.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return seen;
}

/** The ids revision R's n events must carry: R.0 … R.(n-2), then R. */
function expectedIds(events: WatchEvent[]): string[] {
  return events.map((e, i) =>
    events[i + 1]?.revision === e.revision
      ? `${e.revision}.${i - events.findIndex((f) => f.revision === e.revision)}`
      : String(e.revision),
  );
}

describe('relay park and resume with several events per revision', () => {
  test('revisions bigger than maxBufferedBytes: parked and resumed inside revisions, every event once, in order, with its id', async () => {
    const events = history(10, 29, 16, 1_000); // 20 revisions of 16 events of about 1.1 KiB
    const etcd = scriptedEtcd(events);
    const pool = new RelayPool();
    const maxBufferedBytes = 4_000; // about 3 events: each revision is 4 times the bound
    const response = await relayWatch(
      etcd,
      new Request('http://relay.test/events', { headers: { 'last-event-id': '9' } }),
      { prefix: 'k' },
      { pool, maxBufferedBytes, oldestResume: 1 },
    );
    let most = 0;
    const seen = await readEvents(response.body!, events.length, () => (most = Math.max(most, pool.bufferedBytes)));
    const puts = seen.filter((m) => m.event === 'put');
    assert.deepEqual(
      puts.map((m) => m.key),
      events.map((e) => new TextDecoder().decode(e.kv.key)),
    );
    assert.deepEqual(
      puts.map((m) => m.id),
      expectedIds(events),
    );
    assert.ok(most <= maxBufferedBytes + 1_200, `the client held ${most} bytes`);
    // It did park and resume, and some resumes started inside a revision (skipping its first events).
    assert.ok(etcd.opened.length > 20, `${etcd.opened.length} watches opened`);
    assert.ok(
      etcd.opened.every((o) => o.fragment === true),
      'every watch asks etcd for fragments',
    );
    const starts = etcd.opened.map((o) => o.startRevision);
    assert.ok(starts.filter((s, i) => s === starts[i - 1]).length > 0, 'no resume inside a revision');
  });

  test('Last-Event-ID inside a revision resumes with its next event, even after a progress answer', async () => {
    const events = history(10, 12, 4, 10);
    const etcd = scriptedEtcd(events, { progressFirst: true });
    const response = await relayWatch(
      etcd,
      new Request('http://relay.test/events', { headers: { 'last-event-id': '11.1' } }),
      { prefix: 'k' },
      { pool: new RelayPool(), oldestResume: 1 },
    );
    const seen = await readEvents(response.body!, 6, () => {});
    // Its own watch from 11, and the shared one (from now) it is to rejoin once caught up.
    assert.deepEqual(etcd.opened.map((o) => o.startRevision).sort(), [11, undefined]);
    // No id on `ready` while a revision is half sent: a reconnect then must not skip its rest.
    assert.deepEqual(
      seen.map((m) => [m.event, m.id]),
      [['ready', undefined], ...['11.2', '11', '12.0', '12.1', '12.2', '12'].map((id) => ['put', id])],
    );
    assert.deepEqual(
      seen.filter((m) => m.key).map((m) => m.key),
      ['k11-2', 'k11-3', 'k12-0', 'k12-1', 'k12-2', 'k12-3'],
    );
  });
});

describe('relay hand-over from a catch-up watch to the shared one', () => {
  test('an answer the catch-up watch had already taken when the shared watch took the client over is sent once', async () => {
    const events = history(4, 12, 1, 10);
    const answer = (from: number, to: number): WatchResponse => ({
      revision: to,
      events: events.filter((e) => e.revision >= from && e.revision <= to),
      progress: false,
    });
    const shared: WatchResponse[] = [];
    let wakeShared: (() => void) | undefined;
    const publish = (response: WatchResponse) => {
      shared.push(response);
      wakeShared?.();
    };
    let atGate: () => void = () => {};
    const caughtUp = new Promise<void>((resolve) => (atGate = resolve));
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const etcd: Watchable = {
      watch(options: WatchOptions) {
        if (options.startRevision === undefined) {
          // The shared watch, created at revision 9: then what the test publishes.
          let closed = false;
          return {
            ready: Promise.resolve(),
            revision: 9,
            async *responses() {
              for (;;) {
                while (shared.length === 0 && !closed) await new Promise<void>((resolve) => (wakeShared = resolve));
                if (closed) return;
                yield shared.shift()!;
              }
            },
            close() {
              closed = true;
              wakeShared?.();
            },
          } as never;
        }
        // The client's own watch from 4, ahead of the shared one (4..10). It has taken its next
        // answer (11) by the time the shared watch reaches 10 and takes the client over, and hands
        // it out after being closed, as a watch whose answer was already taken does.
        return {
          ready: Promise.resolve(),
          revision: 3,
          async *responses() {
            yield answer(4, 10);
            atGate();
            await gate;
            yield answer(11, 11);
            await new Promise(() => {});
          },
          close() {},
        } as never;
      },
    };
    const response = await relayWatch(
      etcd,
      new Request('http://relay.test/events', { headers: { 'last-event-id': '3' } }),
      { prefix: 'k' },
      { pool: new RelayPool(), oldestResume: 1 },
    );
    const reading = readEvents(response.body!, 9, () => {});
    await caughtUp;
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    await tick();
    publish(answer(10, 10)); // the shared watch reaches the client: it takes it over
    await tick();
    openGate(); // the catch-up watch hands out the answer it had taken
    await tick();
    publish(answer(11, 11));
    publish(answer(12, 12));
    const puts = (await reading).filter((m) => m.event === 'put');
    assert.deepEqual(
      puts.map((m) => m.key),
      ['k4-0', 'k5-0', 'k6-0', 'k7-0', 'k8-0', 'k9-0', 'k10-0', 'k11-0', 'k12-0'],
    );
  });
});
