import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MalformedResponseError,
  UnauthenticatedError,
  UnavailableError,
  WatchCompactedError,
} from '../../src/core/errors.ts';
import { Etcd, type FetchLike, type WatchEvent } from '../../src/index.ts';
import { cancelReasonError } from '../../src/watch/watch-events.ts';
import { within } from '../helpers/within.ts';

const encoder = new TextEncoder();
const header = (revision: number) =>
  `"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"${revision}","raft_term":"2"}`;

// Lines as etcd 3.4.23 sends them for a watcher with watch_id 1 on "héllo" ("aMOpbGxv"):
// created, a put with prev_kv, a txn's two events in one message, a delete, an answer split in
// two fragments, a progress notification, and the stream error sent without a trailing newline.
const recorded = [
  `{"result":{${header(1)},"watch_id":"1","created":true}}\n`,
  `{"result":{${header(2)},"watch_id":"1","events":[{"kv":{"key":"aMOpbGxv","create_revision":"2","mod_revision":"2","version":"1","value":"d8O2cmxk"}}]}}\n`,
  `{"result":{${header(3)},"watch_id":"1","events":[{"kv":{"key":"aMOpbGxv","create_revision":"2","mod_revision":"3","version":"2","value":"MQ=="},"prev_kv":{"key":"aMOpbGxv","create_revision":"2","mod_revision":"2","version":"1","value":"d8O2cmxk"}},{"kv":{"key":"aMOpbGxvMg==","create_revision":"3","mod_revision":"3","version":"1"}}]}}\n`,
  `{"result":{${header(4)},"watch_id":"1","events":[{"type":"DELETE","kv":{"key":"aMOpbGxv","mod_revision":"4"}}]}}\n`,
  `{"result":{${header(6)},"watch_id":"1","fragment":true,"events":[{"kv":{"key":"aMOpbGxv","create_revision":"5","mod_revision":"5","version":"1","value":"YQ=="}}]}}\n`,
  `{"result":{${header(6)},"watch_id":"1","events":[{"kv":{"key":"aMOpbGxv","create_revision":"5","mod_revision":"6","version":"2","value":"Yg=="}}]}}\n`,
  `{"result":{${header(9)},"watch_id":"1"}}\n`,
  '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}',
].join('');
const bytes = encoder.encode(recorded);

/** A fetch serving `answers` in turn (bodies as chunk lists); later calls hang until aborted. */
function scripted(answers: Uint8Array[][]): { fetch: FetchLike; bodies: string[] } {
  const bodies: string[] = [];
  const fetch: FetchLike = async (input) => {
    bodies.push(await input.text());
    const chunks = answers.shift();
    const signal = input.signal;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks ?? []) controller.enqueue(chunk);
        if (chunks !== undefined) controller.close();
        signal.addEventListener('abort', () => controller.error(signal.reason), { once: true });
      },
    });
    return new Response(body, { status: 200 });
  };
  return { fetch, bodies };
}

/** `within`, bounded at 2 s by default: a stream on recorded bytes delivers at once or not at all. */
const bounded = <T>(promise: Promise<T>, what: string, ms = 2_000): Promise<T> => within(promise, what, ms);

/** Waits (bounded) until `condition` holds. */
async function until(condition: () => boolean, what: string, ms = 2_000): Promise<void> {
  for (const started = Date.now(); !condition(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
  }
}

function describeEvent(event: WatchEvent): string {
  return `${event.type} ${event.kv.keyText}=${event.kv.valueText} @${event.revision}${event.prevKv ? ` prev=${event.prevKv.valueText}` : ''}`;
}

const expectedEvents = [
  'put héllo=wörld @2',
  'put héllo=1 @3 prev=wörld',
  'put héllo2= @3',
  'delete héllo= @4',
  'put héllo=a @5',
  'put héllo=b @6',
];

async function watchSplitAt(offset: number): Promise<string[]> {
  const { fetch } = scripted([[bytes.subarray(0, offset), bytes.subarray(offset)]]);
  const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
  const events: string[] = [];
  try {
    const watch = etcd.watch({ prefix: 'h', prevKv: true });
    await bounded(
      (async () => {
        for await (const event of watch) {
          events.push(describeEvent(event));
          if (events.length === expectedEvents.length) break;
        }
      })(),
      `split at ${offset}, after ${JSON.stringify(events)}`,
    );
    return events;
  } finally {
    await etcd.close();
  }
}

describe('watch stream decoding and resume (recorded bytes)', () => {
  test('the same events come out whatever the chunk boundaries, even inside a UTF-8 character', async () => {
    for (let offset = 0; offset <= bytes.length; offset += 1) {
      assert.deepEqual(await watchSplitAt(offset), expectedEvents, `split at ${offset}`);
    }
  });

  test('"transport is closing" reopens the stream resumed after the last delivered revision', async (t) => {
    const { fetch, bodies } = scripted([[bytes]]);
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
    t.after(() => etcd.close());
    const errors: unknown[] = [];
    const watch = etcd.watch({ prefix: 'h', progressNotify: true, onReconnect: (info) => errors.push(info.error) });
    const revisions: Array<[number, boolean]> = [];
    await bounded(
      (async () => {
        for await (const response of watch.responses()) {
          revisions.push([response.revision, response.progress]);
          if (!response.progress) continue;
          // Still iterating (so the watch stays open) until the stream is reopened.
          await until(() => bodies.length >= 2, 'the stream reopened');
          break;
        }
      })(),
      'the progress notification and the reopened stream',
      4_000,
    );
    assert.deepEqual(revisions, [
      [2, false],
      [3, false],
      [4, false],
      [6, false],
      [9, true],
    ]);
    assert.equal(bodies.length, 2);
    const [first, second] = bodies.map(
      (body) => JSON.parse(body.split('\n')[0]!) as { create_request: Record<string, unknown> },
    );
    assert.equal(first!.create_request.watch_id, '1');
    assert.equal(first!.create_request.start_revision, undefined);
    assert.equal(first!.create_request.progress_notify, true);
    assert.equal(second!.create_request.start_revision, '10');
    assert.ok(errors[0] instanceof UnavailableError);
    assert.match((errors[0] as Error).message, /transport is closing/);
  });

  test('a compacted start revision ends the watch with WatchCompactedError carrying compactRevision', async (t) => {
    const lines = [
      `{"result":{${header(30)},"watch_id":"1","created":true}}\n`,
      `{"result":{${header(30)},"watch_id":"1","canceled":true,"compact_revision":"20"}}\n`,
    ];
    const { fetch } = scripted([lines.map((l) => encoder.encode(l))]);
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
    t.after(() => etcd.close());
    const watch = etcd.watch({ key: 'k', startRevision: 5 });
    await assert.rejects(
      bounded(
        (async () => {
          for await (const _ of watch);
        })(),
        'the compaction',
      ),
      (error: unknown) => error instanceof WatchCompactedError && error.compactRevision === 20,
    );
  });

  test('several watchers share one request body, each with its own watch_id, ended by a progress request', async (t) => {
    const { fetch, bodies } = scripted([]);
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
    t.after(() => etcd.close());
    const watches = [
      etcd.watch({ key: 'a' }),
      etcd.watch({ prefix: 'b' }),
      etcd.watch({ from: 'c', to: 'd', startRevision: 7 }),
    ];
    await until(() => bodies.length >= 1, 'the stream opened');
    for (const watch of watches) watch.close();
    assert.equal(bodies.length, 1);
    const lines = bodies[0]!
      .split('\n')
      .map((line) => JSON.parse(line) as { create_request?: Record<string, unknown> });
    assert.deepEqual(lines.at(-1), { progress_request: {} });
    const requests = lines.slice(0, -1).map((line) => line.create_request!);
    assert.deepEqual(
      requests.map((r) => r.watch_id),
      ['1', '2', '3'],
    );
    assert.equal(requests[2]!.start_revision, '7');
  });

  test('fragments come out in whole revisions as they arrive; a resume restarts at the revision left incomplete', async (t) => {
    const event = (key: string, revision: number) =>
      `{"kv":{"key":"${btoa(key)}","create_revision":"${revision}","mod_revision":"${revision}","version":"1","value":"YQ=="}}`;
    const answer = (fragment: boolean, events: Array<[string, number]>) =>
      encoder.encode(
        `{"result":{${header(7)},"watch_id":"1"${fragment ? ',"fragment":true' : ''},"events":[${events.map(([k, r]) => event(k, r)).join(',')}]}}\n`,
      );
    // One etcd answer of revisions 5 (2 events), 6 (2, split across fragments) and 7 (2, split too).
    const first = [
      encoder.encode(`{"result":{${header(4)},"watch_id":"1","created":true}}\n`),
      answer(true, [
        ['a', 5],
        ['b', 5],
        ['c', 6],
      ]),
    ];
    const rest = [
      answer(true, [
        ['d', 6],
        ['e', 7],
      ]),
      answer(false, [['f', 7]]),
    ];
    let more: ReadableStreamDefaultController<Uint8Array> | undefined;
    const bodies: string[] = [];
    const fetch: FetchLike = async (input) => {
      bodies.push(await input.text());
      const signal = input.signal;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (bodies.length === 1) {
            for (const chunk of first) controller.enqueue(chunk);
            more = controller;
          }
          signal.addEventListener('abort', () => controller.error(signal.reason), { once: true });
        },
      });
      return new Response(body, { status: 200 });
    };
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
    t.after(() => etcd.close());
    const watch = etcd.watch({ prefix: '', startRevision: 5, fragment: true });
    const responses = watch.responses();
    const keys = async () => {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no response within 2 s')), 2_000).unref(),
      );
      const next = await Promise.race([responses.next(), timeout]);
      return (next.value?.events ?? []).map((e: WatchEvent) => `${e.kv.keyText}@${e.revision}`);
    };
    // Revision 5 is whole after the first fragment: it comes out before the rest of the answer arrives.
    assert.deepEqual(await keys(), ['a@5', 'b@5']);
    assert.equal(watch.nextRevision, 6);
    assert.equal(JSON.parse(bodies[0]!.split('\n')[0]!).create_request.fragment, true);
    more!.enqueue(rest[0]!);
    assert.deepEqual(await keys(), ['c@6', 'd@6']);
    // The stream breaks with revision 7 half received: the watch resumes at 7, not after it.
    more!.error(new TypeError('fetch failed'));
    await until(() => bodies.length >= 2, 'the stream reopened');
    assert.equal(JSON.parse(bodies[1]!.split('\n')[0]!).create_request.start_revision, '7');
    watch.close();
  });

  test('a revision the stream repeats (within a stream and after a resume) reaches the caller once', async (t) => {
    const put = (revision: number) =>
      `{"kv":{"key":"aw==","create_revision":"2","mod_revision":"${revision}","version":"1","value":"dg=="}}`;
    const events = (revision: number, ...revisions: number[]) =>
      `{"result":{${header(revision)},"watch_id":"1","events":[${revisions.map(put).join(',')}]}}\n`;
    const closing =
      '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}';
    const { fetch, bodies } = scripted([
      // Revision 3 twice in a row, then a message repeating 3 beside 4.
      [
        `{"result":{${header(1)},"watch_id":"1","created":true}}\n`,
        events(2, 2),
        events(3, 3),
        events(3, 3),
        events(4, 3, 4),
        closing,
      ].map((l) => encoder.encode(l)),
      // The resumed stream (from 5) repeats 4 and 5 once more before 6.
      [
        `{"result":{${header(6)},"watch_id":"1","created":true}}\n`,
        events(5, 4),
        events(5, 5),
        events(5, 5),
        events(6, 6),
      ].map((l) => encoder.encode(l)),
    ]);
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
    t.after(() => etcd.close());
    const watch = etcd.watch({ key: 'k' });
    const seen: number[] = [];
    await bounded(
      (async () => {
        for await (const event of watch) {
          seen.push(event.revision);
          if (event.revision === 6) break;
        }
      })(),
      'revision 6',
    );
    assert.deepEqual(seen, [2, 3, 4, 5, 6]);
    assert.equal(JSON.parse(bodies[1]!.split('\n')[0]!).create_request.start_revision, '5');
  });

  test('an older progress notification after a failover does not move the revision back: the next resume starts after the last event', async (t) => {
    const put = (revision: number) =>
      `{"kv":{"key":"aw==","create_revision":"2","mod_revision":"${revision}","version":"1","value":"dg=="}}`;
    const closing =
      '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}';
    const { fetch, bodies } = scripted([
      // Member A: events up to revision 12, then it goes away.
      [
        `{"result":{${header(10)},"watch_id":"1","created":true}}\n`,
        `{"result":{${header(12)},"watch_id":"1","events":[${put(11)},${put(12)}]}}\n`,
        closing,
      ].map((l) => encoder.encode(l)),
      // Member B lags behind: created, then a progress notification for revision 9.
      [
        `{"result":{${header(9)},"watch_id":"1","created":true}}\n`,
        `{"result":{${header(9)},"watch_id":"1"}}\n`,
        closing,
      ].map((l) => encoder.encode(l)),
    ]);
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], fetch });
    t.after(() => etcd.close());
    const watch = etcd.watch({ key: 'k' });
    const responses: Array<[number, boolean]> = [];
    const reading = (async () => {
      for await (const response of watch.responses()) responses.push([response.revision, response.progress]);
    })();
    reading.catch(() => {});
    await until(() => bodies.length >= 3, 'the third stream');
    const starts = bodies.map(
      (body) =>
        (JSON.parse(body.split('\n')[0]!) as { create_request: { start_revision?: string } }).create_request
          .start_revision,
    );
    assert.deepEqual(starts, [undefined, '13', '13']);
    assert.equal(watch.nextRevision, 13);
    assert.deepEqual(responses, [[12, false]]);
    watch.close();
  });

  test('a cancel_reason becomes a typed error', () => {
    assert.ok(
      cancelReasonError('rpc error: code = Unauthenticated desc = etcdserver: invalid auth token') instanceof
        UnauthenticatedError,
    );
    assert.equal(cancelReasonError('rpc error: code = PermissionDenied desc = etcdserver: permission denied').code, 7);
  });
});

describe('an answer over the line limit (recorded bytes)', () => {
  const kv = (key: string, value: string, revision: number) =>
    `{"kv":{"key":"${btoa(key)}","create_revision":"${revision}","mod_revision":"${revision}","version":"1","value":"${btoa(value)}"}}`;
  const answer = (id: string, events: string) => `{"result":{${header(6)},"watch_id":"${id}","events":[${events}]}}\n`;
  const opening = [
    `{"result":{${header(5)},"watch_id":"1","created":true}}\n`,
    `{"result":{${header(5)},"watch_id":"2","created":true}}\n`,
    `{"result":{${header(5)},"watch_id":"-1"}}\n`,
  ];

  /** Watchers on "a" (id 1) and "b" (id 2) of a client whose line limit is 1 KiB, fed `lines` in 256-byte chunks. */
  async function outcomes(lines: string[]): Promise<Array<string | Error>> {
    const wire = encoder.encode([...opening, ...lines].join(''));
    const chunks = Array.from({ length: Math.ceil(wire.length / 256) }, (_, i) =>
      wire.subarray(i * 256, (i + 1) * 256),
    );
    const { fetch } = scripted([chunks]);
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch, maxResponseBytes: 1024 });
    const watches = [etcd.watch({ key: 'a' }), etcd.watch({ key: 'b' })];
    try {
      return await bounded(
        Promise.all(
          watches.map(async (watch) => {
            try {
              for await (const event of watch) return `${event.kv.keyText}=${event.kv.valueText.slice(0, 8)}`;
              return 'ended';
            } catch (error) {
              return error as Error;
            }
          }),
        ),
        'an outcome for each watcher',
      );
    } finally {
      await etcd.close();
    }
  }

  test("ends only the watcher it belongs to (its id read from the line's start); the others keep streaming", async () => {
    const [a, b] = await outcomes([answer('2', kv('b', 'x'.repeat(3000), 6)), answer('1', kv('a', 'after', 7))]);
    assert.equal(a, 'a=after');
    assert.ok(b instanceof MalformedResponseError, String(b));
    assert.match(b.message, /exceeded 1024 characters/);
  });

  test('without a readable watch id at its start, it ends every watcher of the stream, as before', async () => {
    const idLess = `{"result":{"events":[${kv('b', 'x'.repeat(3000), 6)}]}}\n`;
    const results = await outcomes([idLess, answer('1', kv('a', 'after', 7))]);
    for (const result of results)
      assert.ok(result instanceof MalformedResponseError && /exceeded/.test(result.message), String(result));
  });
});

describe('create requests etcd dropped', () => {
  test('when only some creates are answered, the stream is reopened until all are', async (t) => {
    const bodies: string[] = [];
    const fetch: FetchLike = async (input) => {
      const body = await input.text();
      bodies.push(body);
      const ids = body.split('\n').flatMap((line) => {
        const id = (JSON.parse(line) as { create_request?: { watch_id: string } }).create_request?.watch_id;
        return id === undefined ? [] : [id];
      });
      // First attempt: etcd answers only the first create (the gateway dropped the body's tail).
      const answered = bodies.length === 1 ? ids.slice(0, 1) : ids;
      const lines = answered.map((id) => `{"result":{${header(5)},"watch_id":"${id}","created":true}}\n`);
      if (bodies.length > 1) lines.push(`{"result":{${header(5)},"watch_id":"-1"}}\n`);
      const signal = input.signal;
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const line of lines) controller.enqueue(encoder.encode(line));
            signal.addEventListener('abort', () => controller.error(signal.reason), { once: true });
          },
        }),
      );
    };
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
    t.after(() => etcd.close());
    const watches = [etcd.watch({ key: 'a' }), etcd.watch({ key: 'b' }), etcd.watch({ key: 'c' })];
    await Promise.all(watches.map((w) => w.ready));
    assert.equal(bodies.length, 2);
    assert.deepEqual(
      watches.map((w) => w.revision),
      [5, 5, 5],
    );
    for (const watch of watches) watch.close();
  });

  test('creates answered slowly but steadily are not taken for lost: the stream is opened once', async (t) => {
    const bodies: string[] = [];
    const fetch: FetchLike = async (input) => {
      const body = await input.text();
      bodies.push(body);
      const ids = body.split('\n').flatMap((line) => {
        const id = (JSON.parse(line) as { create_request?: { watch_id: string } }).create_request?.watch_id;
        return id === undefined ? [] : [id];
      });
      const signal = input.signal;
      return new Response(
        new ReadableStream<Uint8Array>({
          async start(controller) {
            signal.addEventListener('abort', () => controller.error(signal.reason), { once: true });
            // A busy etcd: each created answer 150 ms after the last, 600 ms in all (more than the first 250 ms wait).
            for (const id of ids) {
              if (signal.aborted) return;
              controller.enqueue(encoder.encode(`{"result":{${header(5)},"watch_id":"${id}","created":true}}\n`));
              await new Promise((r) => setTimeout(r, 150));
            }
            if (!signal.aborted) controller.enqueue(encoder.encode(`{"result":{${header(5)},"watch_id":"-1"}}\n`));
          },
        }),
      );
    };
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
    t.after(() => etcd.close());
    const watches = [
      etcd.watch({ key: 'a' }),
      etcd.watch({ key: 'b' }),
      etcd.watch({ key: 'c' }),
      etcd.watch({ key: 'd' }),
      etcd.watch({ key: 'e' }),
    ];
    await Promise.all(watches.map((w) => w.ready));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bodies.length, 1);
    for (const watch of watches) watch.close();
  });
});
