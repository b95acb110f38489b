// How far back a relay lets a client resume, and who may watch at all (`authorize`), checked
// in-process (relayWatch called directly) against a real etcd.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Etcd, WatchCompactedError } from 'etcd-fetch';
import { RelayPool, relayWatch, subscribe } from 'etcd-fetch/relay';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { SseReader } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();
let shared: Etcd | undefined;
const client = () => (shared ??= new Etcd({ endpoints: etcdUnderTest.endpoint }));
after(() => shared?.close());

const request = (lastEventId?: string) =>
  new Request('http://relay.test/events', {
    headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
  });

/** Every message of a relay answer that ends by itself (or the first ones of one that does not). */
async function messages(response: Response, upTo: string | string[] = ['compacted', 'put', 'delete']) {
  const sse = new SseReader(response.body);
  try {
    return await sse.until(upTo, 5_000);
  } finally {
    await sse.reader.cancel().catch(() => {});
  }
}

describe('relay resume window', () => {
  test("Last-Event-ID: 0 replays none of the prefix's history (deleted values included): event compacted", async () => {
    const prefix = uniquePrefix('relay-history');
    await client().put(`${prefix}secret`, 'the old password');
    const deleted = await client().del(`${prefix}secret`);
    const pool = new RelayPool();
    // A relay that has served a client since: nothing before that.
    const first = new SseReader((await relayWatch(client(), request(), { prefix }, { pool })).body);
    await first.until('ready');
    await first.reader.cancel();
    const seen = await messages(await relayWatch(client(), request('0'), { prefix }, { pool }));
    assert.deepEqual(
      seen.map((m) => m.event),
      ['compacted'],
    );
    const refusal = JSON.parse(seen[0]!.data);
    assert.equal(refusal.reason, 'resume-refused');
    assert.ok(
      refusal.compactRevision > deleted.revision,
      'the oldest resume is after the history the relay was asked for',
    );
    // A relay that has served nobody yet (just restarted) knows no safe point: refused too.
    const restarted = await messages(
      await relayWatch(client(), request(String(deleted.revision)), { prefix }, { pool: new RelayPool() }),
    );
    assert.deepEqual(
      restarted.map((m) => [m.event, JSON.parse(m.data).compactRevision]),
      [['compacted', 0]],
    );
  });

  test('a client resumes from an id the relay gave it, within the window, losing and repeating nothing', async () => {
    const prefix = uniquePrefix('relay-window');
    const pool = new RelayPool();
    const first = new SseReader((await relayWatch(client(), request(), { prefix }, { pool })).body);
    await first.until('ready');
    for (let i = 0; i < 3; i++) await client().put(`${prefix}k${i}`, `v${i}`);
    const firstPut = (await first.until('put')).at(-1)!;
    await first.reader.cancel();
    await client().put(`${prefix}k3`, 'v3');
    assert.deepEqual(await puts(await relayWatch(client(), request(firstPut.id), { prefix }, { pool }), 3), [
      `${prefix}k1`,
      `${prefix}k2`,
      `${prefix}k3`,
    ]);
  });

  test('with resumeSecret, ids are signed: a received id resumes (after a restart too), a forged or foreign one is refused', async () => {
    const prefix = uniquePrefix('relay-signed');
    const other = uniquePrefix('relay-signed-other');
    const resumeSecret = 'a test secret of thirty-two chars';
    const first = new SseReader(
      (await relayWatch(client(), request(), { prefix }, { pool: new RelayPool(), resumeSecret })).body,
    );
    const ready = (await first.until('ready')).at(-1)!;
    assert.match(ready.id!, /^\d+~[\w+/]{43}=$/);
    await client().put(`${prefix}a`, '1');
    await client().put(`${prefix}b`, '2');
    await first.reader.cancel();
    // A new pool: the relay restarted, and still accepts the ids it signed before.
    assert.deepEqual(
      await puts(await relayWatch(client(), request(ready.id), { prefix }, { pool: new RelayPool(), resumeSecret }), 2),
      [`${prefix}a`, `${prefix}b`],
    );
    const revision = Number(ready.id!.split('~')[0]);
    const forged = [`${revision - 5}~${ready.id!.split('~')[1]}`, '0', String(revision), `${ready.id}x`];
    for (const id of forged) {
      const seen = await messages(
        await relayWatch(client(), request(id), { prefix }, { pool: new RelayPool(), resumeSecret }),
      );
      assert.deepEqual(
        seen.map((m) => m.event),
        ['compacted'],
        id,
      );
    }
    // An id signed for another prefix does not open this one's history.
    const foreign = new SseReader((await relayWatch(client(), request(), { prefix: other }, { resumeSecret })).body);
    const foreignId = (await foreign.until('ready')).at(-1)!.id!;
    await foreign.reader.cancel();
    assert.deepEqual(
      (await messages(await relayWatch(client(), request(foreignId), { prefix }, { resumeSecret }))).map(
        (m) => m.event,
      ),
      ['compacted'],
    );
  });

  test('subscribe() ends with WatchCompactedError when the relay refuses to resume', async () => {
    const prefix = uniquePrefix('relay-refused');
    const pool = new RelayPool();
    const events = subscribe('http://relay.test/events', {
      lastEventId: '0',
      fetch: (req) => relayWatch(client(), req as Request, { prefix }, { pool }),
    });
    try {
      await assert.rejects(
        events.next(),
        (error: unknown) => error instanceof WatchCompactedError && /resume-refused/.test(error.message),
      );
    } finally {
      await events.return();
    }
  });
});

describe('relay authorize hook', () => {
  const cors = { 'access-control-allow-origin': 'https://app.example' };

  test('a request the hook refuses gets 403 (or the Response the hook returns) and no watch', async () => {
    const prefix = uniquePrefix('relay-authorize');
    let watches = 0;
    const counting = { watch: (options: Parameters<Etcd['watch']>[0]) => (watches++, client().watch(options)) };
    const denied = await relayWatch(counting, request(), { prefix }, { headers: cors, authorize: () => false });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('access-control-allow-origin'), 'https://app.example');
    const challenged = await relayWatch(
      counting,
      request(),
      { prefix },
      { authorize: async () => new Response('who?', { status: 401, headers: { 'www-authenticate': 'Bearer' } }) },
    );
    assert.equal(challenged.status, 401);
    assert.equal(challenged.headers.get('www-authenticate'), 'Bearer');
    const forgetful = await relayWatch(counting, request(), { prefix }, { authorize: (() => undefined) as never });
    assert.equal(forgetful.status, 403, 'a hook that returns nothing denies');
    assert.equal(watches, 0);
    const allowed = await relayWatch(
      counting,
      request(),
      { prefix },
      { headers: cors, authorize: (req) => req.url.startsWith('http://relay.test/') },
    );
    assert.equal(allowed.status, 200);
    assert.equal((await messages(allowed, 'ready')).at(-1)!.event, 'ready');
  });
});

/** The keys of the first `count` put events of a relay answer. */
async function puts(response: Response, count: number): Promise<string[]> {
  const sse = new SseReader(response.body);
  const keys: string[] = [];
  try {
    while (keys.length < count) {
      const message = await sse.next(5_000);
      assert.ok(message, 'the stream ended');
      assert.notEqual(message.event, 'compacted', message.data);
      if (message.event === 'put') keys.push(JSON.parse(message.data).kv.key);
    }
    return keys;
  } finally {
    await sse.reader.cancel().catch(() => {});
  }
}
