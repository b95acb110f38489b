// A relay stream whose upstream watch is gone (etcd killed) does not send heart-beats forever: it
// ends with `event: error`, so EventSource or subscribe reconnects; once etcd is back, the
// reconnect resumes from the last id and loses nothing.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { RelayPool, relayWatch } from 'etcd-fetch/relay';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { type SseMessage, SseReader } from './relay-helpers.ts';

const etcdUnderTest = useEtcd({ ownServer: true });
let shared: Etcd | undefined;
const client = () => (shared ??= new Etcd({ endpoints: etcdUnderTest.endpoint, timeout: 2_000 }));
after(() => shared?.close());

const HEARTBEAT = 1_000;

/** Messages and heart-beats until the stream ends, or `ms` pass (then `ended` is false). */
async function untilEnd(
  sse: SseReader,
  ms: number,
): Promise<{ ended: boolean; messages: SseMessage[]; heartbeats: number }> {
  const messages: SseMessage[] = [];
  const deadline = Date.now() + ms;
  const decoder = new TextDecoder();
  let text = '';
  let heartbeats = 0;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return { ended: false, messages, heartbeats };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = await Promise.race([
      sse.reader.read(),
      new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), left))),
    ]);
    clearTimeout(timer);
    if (read === 'late') return { ended: false, messages, heartbeats };
    if (read.done) return { ended: true, messages, heartbeats };
    text += decoder.decode(read.value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      if (block.startsWith(': heartbeat')) heartbeats++;
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (event)
        messages.push({ event, id: /^id: (.*)$/m.exec(block)?.[1], data: /^data: (.*)$/m.exec(block)?.[1] ?? '' });
    }
  }
}

describe('relay with its upstream gone', () => {
  test('with etcd killed, each relay stream (shared upstream watch or its own) ends with an error event within a bounded wait; after a restart the resume loses nothing', {
    timeout: 120_000,
  }, async () => {
    const prefix = uniquePrefix('relay-gone');
    const pool = new RelayPool();
    const streams: SseReader[] = [];
    try {
      for (const sharedWatch of [true, false]) {
        const response = await relayWatch(
          client(),
          new Request('http://relay.test/events'),
          { prefix },
          { pool, shared: sharedWatch, heartbeat: HEARTBEAT },
        );
        streams.push(new SseReader(response.body));
      }
      for (const sse of streams) await sse.until('ready');
      await client().put(`${prefix}before`, '1');
      const lastIds: string[] = [];
      for (const sse of streams) lastIds.push((await sse.until('put')).at(-1)!.id!);

      await etcdUnderTest.server!.kill();
      // Failing for a whole heart-beat interval, plus the watch's backoff (2 s at most) and slack.
      const outcomes = await Promise.all(streams.map((sse) => untilEnd(sse, 15_000)));
      for (const [i, outcome] of outcomes.entries()) {
        assert.ok(
          outcome.ended,
          `stream ${i} (shared: ${i === 0}) still open after 15 s with etcd gone (${outcome.heartbeats} heart-beats)`,
        );
        assert.deepEqual(
          outcome.messages.map((m) => m.event),
          ['error'],
          `stream ${i}`,
        );
        assert.equal(JSON.parse(outcome.messages[0]!.data).name, 'UnavailableError');
        assert.doesNotMatch(outcome.messages[0]!.data, /127\.0\.0\.1|http:/, 'the error names no etcd endpoint');
      }

      await etcdUnderTest.server!.restart();
      await client().put(`${prefix}after`, '2');
      // What EventSource does next: reconnect with the last id, and get what it missed.
      for (const [i, lastId] of lastIds.entries()) {
        const response = await relayWatch(
          client(),
          new Request('http://relay.test/events', { headers: { 'last-event-id': lastId } }),
          { prefix },
          { pool, shared: i === 0, heartbeat: HEARTBEAT },
        );
        const sse = new SseReader(response.body);
        streams.push(sse);
        const seen = await sse.until(['put', 'compacted', 'error'], 10_000);
        assert.equal(seen.at(-1)?.event, 'put', `resume ${i}: ${JSON.stringify(seen)}`);
        assert.equal(JSON.parse(seen.at(-1)!.data).kv.key, `${prefix}after`);
      }
    } finally {
      for (const sse of streams) await sse.reader.cancel().catch(() => {});
    }
  });
});
