import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchLike } from '../../src/core/call-options.ts';
import { clientUrlsOf, EndpointDiscovery, EndpointPool } from '../../src/core/endpoints.ts';
import { TimeoutError, UnavailableError } from '../../src/core/errors.ts';
import { backoff } from '../../src/core/timers.ts';
import { Transport } from '../../src/core/transport.ts';

const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';
const C = 'http://127.0.0.1:3';

function clock() {
  const c = { t: 1_000, now: () => c.t };
  return c;
}

describe('endpoint pool', () => {
  test('keeps using an endpoint while it works and moves to the next when it fails', () => {
    const pool = new EndpointPool([A, B, C]);
    assert.equal(pool.pick(), A);
    pool.succeeded(A);
    assert.equal(pool.pick(), A);
    pool.failed(A);
    assert.equal(pool.pick(), B);
    pool.failed(B);
    assert.equal(pool.pick(), C);
  });

  test('an endpoint that keeps failing is skipped during its cooldown, then tried again', () => {
    const time = clock();
    const pool = new EndpointPool([A, B], { failureThreshold: 2, cooldown: 5_000, now: time.now });
    pool.failed(A);
    pool.failed(B);
    pool.failed(A); // A's second failure in a row: skipped for 5 s
    assert.ok(pool.isCoolingDown(A));
    for (let i = 0; i < 5; i++) assert.equal(pool.pick(), B);
    time.t += 5_001;
    assert.ok(!pool.isCoolingDown(A));
    pool.failed(B);
    pool.failed(B);
    assert.equal(pool.pick(), A, 'A is tried again once its cooldown is over');
    pool.failed(A); // the probe failed: skipped again at once
    assert.ok(pool.isCoolingDown(A));
  });

  test('when every endpoint cools down, the one whose cooldown ends first is still tried', () => {
    const time = clock();
    const pool = new EndpointPool([A, B], { failureThreshold: 1, cooldown: 1_000, now: time.now });
    pool.failed(A);
    time.t += 10;
    pool.failed(B);
    assert.equal(pool.pick(), A);
  });

  test('a success closes the breaker', () => {
    const time = clock();
    const pool = new EndpointPool([A, B], { failureThreshold: 1, now: time.now });
    pool.failed(A);
    assert.ok(pool.isCoolingDown(A));
    pool.succeeded(A);
    assert.ok(!pool.isCoolingDown(A));
  });

  test('backoff is jittered (half fixed, half random), grows, and is capped at one second', () => {
    assert.equal(
      backoff(1, 50, 1_000, () => 0),
      25,
    );
    assert.equal(backoff(1, 50, 1_000, () => 0.999999) < 50, true);
    assert.equal(
      backoff(4, 50, 1_000, () => 0.5),
      300,
    );
    assert.equal(backoff(31, 50, 1_000, () => 0.999999) < 1_000, true);
    const samples = new Set(Array.from({ length: 20 }, () => backoff(3)));
    assert.ok(samples.size > 10, 'random');
  });
});

describe('failover in the transport', () => {
  const refusing = new Set(['1', '2']);
  const fetch: FetchLike = async (request) => {
    const port = new URL(request.url).port;
    if (refusing.has(port)) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    return new Response(`{"port":"${port}"}`);
  };

  test('an idempotent call tries every endpoint in turn', async () => {
    const t = new Transport({ endpoints: [A, B, C], fetch });
    assert.deepEqual(await t.request('/kv/range', {}, { idempotent: true }), { port: '3' });
  });

  test('an idempotent call retries with backoff until an endpoint comes back, within its deadline', async () => {
    let calls = 0;
    const flaky: FetchLike = async () => {
      if (++calls < 6) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return new Response('{"ok":true}');
    };
    const t = new Transport({ endpoints: [A, B], fetch: flaky, timeout: 5_000 });
    assert.deepEqual(await t.request('/kv/range', {}, { idempotent: true }), { ok: true });
    assert.equal(calls, 6);
  });

  test('with every endpoint down, an idempotent call settles by its deadline with a typed error', async () => {
    const down: FetchLike = async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    };
    const started = Date.now();
    const error = await new Transport({ endpoints: [A, B, C], fetch: down, timeout: 700 })
      .request('/kv/range', {}, { idempotent: true })
      .catch((e: unknown) => e);
    assert.ok(error instanceof UnavailableError || error instanceof TimeoutError, String(error));
    assert.ok(Date.now() - started < 700 + 1_000);
  });

  test('a write is sent once: a refused one says it was not applied, a broken one that it may have been', async () => {
    let sent = 0;
    const reset: FetchLike = async () => {
      sent++;
      throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    };
    const error = await new Transport({ endpoints: [A, B, C], fetch: reset })
      .request('/kv/put', {})
      .catch((e: unknown) => e);
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.mayHaveApplied, true);
    assert.equal(sent, 1);

    const refused = await new Transport({ endpoints: [A, B, C], fetch })
      .request('/kv/put', {})
      .catch((e: unknown) => e);
    assert.ok(refused instanceof UnavailableError);
    assert.equal(refused.mayHaveApplied, false);
  });

  test('a 503 "request timed out" from a member moves reads to another member', async () => {
    const hosts: string[] = [];
    const busy: FetchLike = async (request) => {
      const port = new URL(request.url).port;
      hosts.push(port);
      if (port === '1') return new Response('{"code":14,"message":"etcdserver: request timed out"}', { status: 503 });
      return new Response('{}');
    };
    await new Transport({ endpoints: [A, B], fetch: busy }).request('/kv/range', {}, { idempotent: true });
    assert.deepEqual(hosts, ['1', '2']);
  });
});

describe('authentication under failures', () => {
  test('a call waiting for an authentication that hangs settles by its own deadline', async () => {
    const fetch: FetchLike = (request) =>
      request.url.endsWith('/auth/authenticate')
        ? new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)))
        : Promise.resolve(new Response('{}'));
    const t = new Transport({ endpoints: [A], fetch, timeout: 1_000, auth: { username: 'root', password: 'pw' } });
    const started = Date.now();
    const error = await t.request('/kv/range', {}, { idempotent: true, timeout: 100 }).catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.ok(Date.now() - started < 900, "settled by its own deadline, not the authentication's");
  });

  test('authentication fails over to the next endpoint like a read (a second token is harmless)', async () => {
    const seen: string[] = [];
    const fetch: FetchLike = async (request) => {
      const url = new URL(request.url);
      seen.push(`${url.port}${url.pathname}`);
      if (url.port === '1') throw new TypeError('fetch failed', { cause: { code: 'UND_ERR_SOCKET' } });
      if (url.pathname === '/v3/auth/authenticate') return new Response('{"token":"t.1"}');
      return new Response('{}');
    };
    const t = new Transport({ endpoints: [A, B], fetch, auth: { username: 'root', password: 'pw' } });
    assert.deepEqual(await t.request('/kv/range', {}, { idempotent: true }), {});
    assert.deepEqual(seen, ['1/v3/auth/authenticate', '2/v3/auth/authenticate', '2/v3/kv/range']);
  });
});

describe('endpoint discovery', () => {
  const memberList = {
    members: [
      { ID: '1', name: 'a', clientURLs: ['http://127.0.0.1:1'] },
      { ID: '2', name: 'b', clientURLs: ['http://127.0.0.1:2/'] },
      { ID: '3', name: 'learner' },
      { ID: '4', name: 'c', clientURLs: ['http://127.0.0.1:3', 'unix://sock', 42] },
      // A learner that has started: etcd refuses it most calls, so discovery leaves it out (as Go's Sync).
      { ID: '5', name: 'l', clientURLs: ['http://127.0.0.1:5'], isLearner: true },
    ],
  };

  test('reads client URLs from a member list, ignoring learners, members without any and non-http URLs', () => {
    assert.deepEqual(clientUrlsOf(memberList), [A, B, C]);
    assert.deepEqual(clientUrlsOf({ members: 'x' }), []);
    assert.deepEqual(clientUrlsOf({}), []);
  });

  test('with discover, the transport adds the members it learns of and keeps the seeds', async () => {
    const paths: string[] = [];
    const fetch: FetchLike = async (request) => {
      const url = new URL(request.url);
      paths.push(url.pathname);
      if (url.pathname === '/v3/cluster/member/list') return new Response(JSON.stringify(memberList));
      return new Response('{}');
    };
    const t = new Transport({ endpoints: ['http://127.0.0.1:9'], fetch, discover: true });
    await t.request('/kv/range', {}, { idempotent: true });
    for (let i = 0; i < 20 && t.endpoints.length === 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(t.endpoints, ['http://127.0.0.1:9', A, B, C]);
    assert.ok(paths.includes('/v3/cluster/member/list'));
  });

  test('without discover, no member list is asked for', async () => {
    const paths: string[] = [];
    const fetch: FetchLike = async (request) => {
      paths.push(new URL(request.url).pathname);
      return new Response('{}');
    };
    await new Transport({ endpoints: [A], fetch }).request('/kv/range', {}, { idempotent: true });
    assert.deepEqual(paths, ['/v3/kv/range']);
  });

  test('a failed discovery leaves the endpoints as they were and is reported to onError', async () => {
    const pool = new EndpointPool([A]);
    const reported: unknown[] = [];
    const discovery = new EndpointDiscovery(pool, [A], () => Promise.reject(new Error('down')), {
      onError: (error) => reported.push(error),
    });
    discovery.refresh();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(pool.endpoints, [A]);
    assert.deepEqual(
      reported.map((e) => (e as Error).message),
      ['down'],
    );
  });

  test('without onError, a run of failed discoveries is warned about once', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    let clock = 0;
    const discovery = new EndpointDiscovery(
      new EndpointPool([A]),
      [A],
      () => Promise.reject(new Error('user name is empty')),
      { now: () => clock },
    );
    for (let i = 0; i < 3; i++) {
      discovery.refresh();
      await new Promise((r) => setTimeout(r, 5));
      clock += 120_000;
    }
    assert.equal(warn.mock.callCount(), 1);
    assert.match(
      String(warn.mock.calls[0]!.arguments[0]),
      /discovery could not list the cluster's members: user name is empty/,
    );
  });

  test("discovery sends the client's token (a fixed etcd refuses an anonymous member list)", async () => {
    const seen: (string | null)[] = [];
    const fetch: FetchLike = async (request) => {
      seen.push(request.headers.get('authorization'));
      return new Response(JSON.stringify({ members: [] }), { status: 200 });
    };
    const transport = new Transport({ endpoints: [A], fetch, discover: true, auth: { token: 'tok' } });
    await transport.request('/kv/range', {}, { idempotent: true });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['tok', 'tok']);
  });
});
