// What a relay does with bad input: a request that carries a bad Last-Event-ID (or a selector or
// start revision built from it) gets a 400 with a typed JSON body, never a crash; every option
// of relayWatch is checked up front; subscribe() refuses a URL it cannot use at once.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { Etcd, type WatchOptions } from '../../src/index.ts';
import { RelayPool, relayWatch, subscribe, type Watchable } from '../../src/relay/index.ts';

/** A client whose etcd listens nowhere: every watch opened through it would retry, so none may be opened. */
const nowhere = new Etcd({ endpoints: 'http://127.0.0.1:9', timeout: 1_000 });
after(() => nowhere.close());

/** Records every watch it is asked for (and opens none). */
function recordingEtcd(): Watchable & { opened: WatchOptions[] } {
  const opened: WatchOptions[] = [];
  return {
    opened,
    watch(options: WatchOptions) {
      opened.push(options);
      return nowhere.watch(options);
    },
  };
}

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

async function assertTyped400(response: Response, what: string): Promise<void> {
  assert.equal(response.status, 400, `${what}: status`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/, `${what}: content-type`);
  const body = (await response.json()) as { error?: { name?: string; message?: string } };
  assert.equal(body.error?.name, 'InvalidArgumentError', `${what}: ${JSON.stringify(body)}`);
  assert.equal(typeof body.error?.message, 'string');
}

const badIds = [
  '9007199254740991',
  '9007199254740992',
  '99999999999999999999999',
  '1e3',
  '0x10',
  '-1',
  '1.5.2',
  '12.9007199254740992',
  'NaN',
  '١٢',
  '\u00b9',
  '7\u00a0',
  `${'9'.repeat(5_000)}`,
  'abc',
];

describe('relay: a bad request is a 400 with a typed JSON body, and nothing rejects unhandled', () => {
  for (const shared of [true, false]) {
    test(`a Last-Event-ID (header or lastEventId query) that is no valid event id is refused with 400 (shared: ${shared})`, async () => {
      const pool = new RelayPool();
      // A relay that has served a client since revision 5: the window a plain id may resume in.
      pool.firstRevision = 5;
      const etcd = recordingEtcd();
      for (const id of badIds) {
        // A header carries bytes (Latin-1 once decoded): other characters travel only in the query.
        if (/^[\x20-\xff]*$/.test(id)) {
          await assertTyped400(
            await relayWatch(
              etcd,
              new Request('http://relay.test/events', { headers: { 'last-event-id': id } }),
              { prefix: 'a/' },
              { pool, shared },
            ),
            `header ${id.slice(0, 30)}`,
          );
        }
        const url = `http://relay.test/events?lastEventId=${encodeURIComponent(id)}`;
        await assertTyped400(
          await relayWatch(etcd, new Request(url), { prefix: 'a/' }, { pool, shared }),
          `query ${id.slice(0, 30)}`,
        );
      }
      assert.deepEqual(etcd.opened, [], 'no watch was opened');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, []);
    });

    test(`an invalid selector or start revision is refused with 400 before any watch opens (shared: ${shared})`, async () => {
      const etcd = recordingEtcd();
      const request = () => new Request('http://relay.test/events');
      const selectors: unknown[] = [{}, null, 'a', { key: '' }, { key: 'a', prefix: 'b' }, { to: 'z' }, { prefix: 5 }];
      for (const selector of selectors) {
        await assertTyped400(
          await relayWatch(etcd, request(), selector as never, { shared }),
          `selector ${JSON.stringify(selector)}`,
        );
      }
      for (const startRevision of [-3, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '5'] as unknown[]) {
        await assertTyped400(
          await relayWatch(etcd, request(), { prefix: 'a/' }, { shared, startRevision: startRevision as number }),
          `startRevision ${String(startRevision)}`,
        );
      }
      assert.deepEqual(etcd.opened, [], 'no watch was opened');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, []);
    });
  }
});

describe('relayWatch options are checked up front', () => {
  const bad: Array<[string, Record<string, unknown>]> = [
    ['heartbeat 0', { heartbeat: 0 }],
    ['heartbeat NaN', { heartbeat: Number.NaN }],
    ['heartbeat -1', { heartbeat: -1 }],
    ['heartbeat Infinity', { heartbeat: Infinity }],
    ['heartbeat 10 (below the minimum)', { heartbeat: 10 }],
    ['heartbeat as a string', { heartbeat: '15000' }],
    ['retry with an injected line', { retry: '5\ndata: injected' }],
    ['retry -1', { retry: -1 }],
    ['retry 1.5', { retry: 1.5 }],
    ['retry NaN', { retry: Number.NaN }],
    ['retry Infinity', { retry: Infinity }],
    ['resumeSecret empty', { resumeSecret: '' }],
    ['resumeSecret of 3 characters', { resumeSecret: 'abc' }],
    ['resumeSecret of 31 characters', { resumeSecret: 'x'.repeat(31) }],
    ['resumeSecret not a string', { resumeSecret: 1234567890 }],
    ['oldestResume NaN', { oldestResume: Number.NaN }],
    ['oldestResume -1', { oldestResume: -1 }],
    ['oldestResume 1.5', { oldestResume: 1.5 }],
    ['oldestResume Infinity', { oldestResume: Infinity }],
    ['oldestResume as a string', { oldestResume: '1' }],
    ['maxBufferedBytes 0', { maxBufferedBytes: 0 }],
    ['maxBufferedBytes NaN', { maxBufferedBytes: Number.NaN }],
    ['prevKv as a string', { prevKv: 'yes' }],
    ['shared as a string', { shared: 'no' }],
    ['authorize not a function', { authorize: 'admin' }],
    ['pool not a RelayPool', { pool: {} }],
    ['headers not headers', { headers: 5 }],
    ['a header name with a line break', { headers: { 'x-a\nb': '1' } }],
    ['a header value with a line break', { headers: { 'x-a': '1\r\nset-cookie: a=b' } }],
    ['options not an object', 'fast' as never],
  ];
  for (const [what, options] of bad) {
    test(`${what}: InvalidArgumentError, and no watch is opened`, async () => {
      const etcd = recordingEtcd();
      let authorized = 0;
      const withHook =
        typeof options === 'object' && !('authorize' in options)
          ? { ...options, authorize: () => (authorized++, true) }
          : options;
      await assert.rejects(
        relayWatch(etcd, new Request('http://relay.test/events'), { prefix: 'a/' }, withHook as never),
        InvalidArgumentError,
      );
      assert.equal(authorized, 0, 'refused before authorize runs');
      assert.deepEqual(etcd.opened, []);
    });
  }

  test('a valid retry is written as is, and heartbeat, secret and oldestResume at their bounds are accepted', async () => {
    const etcd = recordingEtcd();
    const secret = 's'.repeat(32);
    const response = await relayWatch(
      etcd,
      new Request('http://relay.test/events'),
      { prefix: 'a/' },
      { retry: 0, heartbeat: 1_000, resumeSecret: secret, oldestResume: 0, shared: false, pool: new RelayPool() },
    );
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.equal(first, 'retry: 0\n\n');
    await reader.cancel();
  });
});

describe('subscribe refuses a URL it cannot use', () => {
  for (const url of ['not a url', '/events', 'events', 'ftp://relay.example/events', '']) {
    test(`${JSON.stringify(url)}: InvalidArgumentError at once, no request and no retry`, async () => {
      let requests = 0;
      const events = subscribe(url, { fetch: async () => (requests++, new Response('', { status: 503 })) });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        events.next().then(
          () => 'yielded',
          (error: unknown) => error,
        ),
        new Promise((r) => (timer = setTimeout(() => r('still retrying after 3 s'), 3_000))),
      ]);
      clearTimeout(timer);
      await events.return();
      assert.ok(outcome instanceof InvalidArgumentError, `got ${String(outcome)}`);
      assert.equal(requests, 0);
    });
  }
});
