import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchLike } from '../../src/core/call-options.ts';
import {
  AbortedError,
  CompactedError,
  EtcdError,
  FailedPreconditionError,
  FutureRevisionError,
  InvalidArgumentError,
  isEtcdError,
  MalformedResponseError,
  NotFoundError,
  PermissionDeniedError,
  RequestTooLargeError,
  ResourceExhaustedError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
} from '../../src/core/errors.ts';
import { Transport } from '../../src/core/transport.ts';

function answering(status: number, body: string, contentType = 'application/json'): FetchLike {
  return async () => new Response(body, { status, headers: { 'content-type': contentType } });
}

function transport(fetch: FetchLike, endpoints = ['http://127.0.0.1:1'], timeout = 2_000): Transport {
  return new Transport({ endpoints, fetch, timeout });
}

// Error bodies recorded from etcd 3.4.23's gateway.
const recordedErrors: Array<[number, string, new (...args: never[]) => EtcdError]> = [
  [
    400,
    '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}',
    InvalidArgumentError,
  ],
  [
    400,
    '{"error":"etcdserver: request is too large","message":"etcdserver: request is too large","code":3}',
    RequestTooLargeError,
  ],
  [
    400,
    '{"error":"etcdserver: user name is empty","message":"etcdserver: user name is empty","code":3}',
    UnauthenticatedError,
  ],
  [
    400,
    '{"error":"etcdserver: authentication failed, invalid user ID or password","message":"etcdserver: authentication failed, invalid user ID or password","code":3}',
    UnauthenticatedError,
  ],
  [
    400,
    '{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}',
    CompactedError,
  ],
  [
    400,
    '{"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}',
    FutureRevisionError,
  ],
  [
    404,
    '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}',
    NotFoundError,
  ],
  [
    412,
    '{"error":"etcdserver: authentication is not enabled","message":"etcdserver: authentication is not enabled","code":9}',
    FailedPreconditionError,
  ],
  [
    403,
    '{"error":"etcdserver: permission denied","message":"etcdserver: permission denied","code":7}',
    PermissionDeniedError,
  ],
  [
    401,
    '{"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16}',
    UnauthenticatedError,
  ],
  [
    429,
    '{"error":"etcdserver: mvcc: database space exceeded","message":"etcdserver: mvcc: database space exceeded","code":8}',
    ResourceExhaustedError,
  ],
  [
    429,
    '{"error":"grpc: received message larger than max (2097162 vs. 2097152)","message":"grpc: received message larger than max (2097162 vs. 2097152)","code":8}',
    RequestTooLargeError,
  ],
  [
    503,
    '{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}',
    UnavailableError,
  ],
  [504, '{"error":"context deadline exceeded","message":"context deadline exceeded","code":4}', TimeoutError],
  // etcd 3.5 (grpc-gateway v1.16): "error" first, FailedPrecondition is 400.
  [
    400,
    '{"error":"etcdserver: authentication is not enabled","code":9,"message":"etcdserver: authentication is not enabled"}',
    FailedPreconditionError,
  ],
  // etcd 3.6+ (grpc-gateway v2) drops "error"; protojson may put a space after each comma.
  [403, '{"code":7,"message":"etcdserver: permission denied","details":[]}', PermissionDeniedError],
  [400, '{"code":9, "message":"etcdserver: user already exists"}', FailedPreconditionError],
  [499, '{"code":1, "message":"context canceled"}', AbortedError],
  [501, '{"code":12, "message":"Method Not Allowed"}', UnimplementedError],
  // A refused stream (3.6+: the error's HTTP status, nested error, then a newline).
  [401, '{"error":{"code":16,"message":"etcdserver: invalid auth token"}}\n', UnauthenticatedError],
  [403, '{"error":{"code":7, "message":"etcdserver: permission denied"}}\n', PermissionDeniedError],
  [
    503,
    '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}',
    UnavailableError,
  ],
];

function messageOf(body: string): string {
  const parsed = JSON.parse(body) as { message?: string; error?: { message: string } };
  return parsed.message ?? parsed.error!.message;
}

function codeOf(body: string): number {
  const parsed = JSON.parse(body) as { code?: number; error?: { code?: number; grpc_code?: number } };
  return parsed.code ?? parsed.error!.code ?? parsed.error!.grpc_code!;
}

// Upstream etcd 3.4.23's gateway (not Debian's build) answers every error with an empty body.
const emptyBodies: Array<[number, new (...args: never[]) => EtcdError]> = [
  [400, InvalidArgumentError],
  [401, UnauthenticatedError],
  [403, PermissionDeniedError],
  [404, NotFoundError],
  [408, AbortedError],
  [412, FailedPreconditionError],
  [429, ResourceExhaustedError],
  [500, EtcdError],
  [503, UnavailableError],
  [504, TimeoutError],
];

describe('error mapping', () => {
  for (const [status, body, type] of recordedErrors) {
    const message = messageOf(body);
    test(`HTTP ${status} ${body.trim()} becomes ${type.name} with etcd's code and message`, async () => {
      const error = await transport(answering(status, body))
        .request('/kv/range', { key: 'Zm9v' })
        .catch((e: unknown) => e);
      assert.ok(error instanceof type, `got ${String(error)}`);
      assert.ok(isEtcdError(error));
      assert.equal(error.code, codeOf(body));
      assert.equal(error.status, status);
      // etcd's message as is; "user name is empty" (no credentials, auth on) comes after the fix it calls for.
      const noCredentials =
        'this etcd has auth enabled: pass `auth` ({ username, password } or { token }) to the client; etcd said: ';
      assert.equal(error.message, /user name is empty/.test(message) ? noCredentials + message : message);
      assert.equal(error.name, type.name);
      assert.equal(error.path, '/v3/kv/range', 'error.path is the whole gateway path, as in watch errors');
    });
  }

  for (const [status, type] of emptyBodies) {
    test(`HTTP ${status} with an empty body becomes ${type.name}, by its status`, async () => {
      const error = await transport(answering(status, ''))
        .request('/kv/range', { key: 'Zm9v' }, { idempotent: false })
        .catch((e: unknown) => e);
      assert.ok(error instanceof type, `got ${String(error)}`);
      assert.equal(error.name, type.name);
      assert.equal(error.status, status);
      assert.match(error.message, new RegExp(`HTTP ${status} .* with no error body`));
    });
  }

  test('an unknown path (404 text/plain up to 3.5, JSON "Not Found" from 3.6) or a wrong method (405) is an UnimplementedError', async () => {
    for (const [status, body, type] of [
      [404, '404 page not found\n', 'text/plain'],
      [404, '{"code":5, "message":"Not Found"}', 'application/json'],
      [405, 'Method Not Allowed\n', 'text/plain'],
    ] as const) {
      const error = await transport(answering(status, body, type))
        .request('/auth/status', {})
        .catch((e) => e);
      assert.ok(error instanceof UnimplementedError, `got ${String(error)}`);
      assert.equal(error.status, status);
      assert.match(error.message, /does not serve \/v3\/auth\/status/);
    }
  });

  test('a 500 page from a proxy is an EtcdError naming the status and the start of the page', async () => {
    const error = await transport(answering(500, '<html>bad gateway</html>', 'text/html'))
      .request('/kv/range', {})
      .catch((e) => e);
    assert.equal(error.name, 'EtcdError');
    assert.match(error.message, /HTTP 500 .*<html>bad gateway/);
  });

  test('a 200 with an HTML body is a MalformedResponseError, not a SyntaxError', async () => {
    const error = await transport(answering(200, '<html>proxy</html>', 'text/html'))
      .request('/kv/range', {})
      .catch((e) => e);
    assert.ok(error instanceof MalformedResponseError);
  });

  test('truncated JSON is a MalformedResponseError', async () => {
    const error = await transport(answering(200, '{"header":{"revision":"3"'))
      .request('/kv/range', {})
      .catch((e) => e);
    assert.ok(error instanceof MalformedResponseError);
  });

  test('a JSON answer that is not an object is a MalformedResponseError', async () => {
    const error = await transport(answering(200, '[1,2]'))
      .request('/kv/range', {})
      .catch((e) => e);
    assert.ok(error instanceof MalformedResponseError);
  });

  test('a body that breaks off mid-answer is an UnavailableError', async () => {
    const fetch: FetchLike = async () =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode('{"header":'));
            c.error(new TypeError('terminated'));
          },
        }),
      );
    const error = await transport(fetch)
      .request('/kv/range', {})
      .catch((e) => e);
    assert.ok(error instanceof UnavailableError, String(error));
  });
});

describe('deadlines and cancellation', () => {
  /** Never answers, and rejects when its signal aborts (at once if it already has), as fetch does. */
  const hanging: FetchLike = (request) =>
    new Promise((_, reject) => {
      if (request.signal.aborted) reject(request.signal.reason);
      else request.signal.addEventListener('abort', () => reject(request.signal.reason));
    });

  // A 100 ms deadline ends the call after 100 ms; 600 ms more covers a busy machine's event-loop
  // delay, while a deadline a second late, or a call retried past it, exceeds it.
  const assertAtDeadline = (started: number) => {
    const ms = performance.now() - started;
    assert.ok(ms >= 95 && ms < 100 + 600, `a call with a 100 ms deadline settled after ${Math.round(ms)} ms`);
  };

  test('a call that never answers times out with TimeoutError at its deadline', async () => {
    for (const idempotent of [true, false]) {
      const started = performance.now();
      const error = await transport(hanging, undefined, 100)
        .request('/kv/range', {}, { idempotent })
        .catch((e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assertAtDeadline(started);
    }
  });

  test('a body that never ends times out too, at its deadline', async () => {
    const fetch: FetchLike = async () => new Response(new ReadableStream({ start() {} }));
    const started = performance.now();
    const error = await transport(fetch, undefined, 100)
      .request('/kv/range', {})
      .catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assertAtDeadline(started);
  });

  test('an aborted signal rejects with AbortedError at once, not at the deadline', async () => {
    for (const idempotent of [true, false]) {
      const controller = new AbortController();
      const started = performance.now();
      const pending = transport(hanging).request('/kv/range', {}, { signal: controller.signal, idempotent });
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(pending, AbortedError);
      const ms = performance.now() - started;
      assert.ok(ms < 20 + 600, `settled ${Math.round(ms)} ms after the call, its deadline being 2 s`);
    }
  });

  // KNOWN BUG (src/core/transport.ts, left to its owner): before the answer's headers, the call
  // waits on fetch alone; a fetch that ignores its signal keeps a caller's abort waiting until the
  // attempt's timeout (a read: 1 s) or the whole deadline (a write: 2 s here). Bodies are already
  // raced against the signal (untilAborted); headers are not.
  test('an abort ends the call at once even when fetch ignores its signal', async () => {
    const ignoring: FetchLike = () => new Promise(() => {});
    for (const idempotent of [true, false]) {
      const controller = new AbortController();
      const started = performance.now();
      const pending = transport(ignoring).request('/kv/range', {}, { signal: controller.signal, idempotent });
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(pending, AbortedError);
      const ms = performance.now() - started;
      assert.ok(
        ms < 20 + 600,
        `${idempotent ? 'a read' : 'a write'} settled ${Math.round(ms)} ms after the call, its deadline being 2 s`,
      );
    }
  });

  test('an already aborted signal sends nothing', async () => {
    let sent = 0;
    const fetch: FetchLike = async (request) => {
      sent++;
      request.signal.throwIfAborted();
      return new Response('{}');
    };
    await assert.rejects(transport(fetch).request('/kv/range', {}, { signal: AbortSignal.abort() }), AbortedError);
    assert.equal(sent, 0);
  });
});

describe('requests on the wire', () => {
  test('a POST to /v3 + path with a JSON text body and no header that needs a CORS preflight', async () => {
    let seen: Request | undefined;
    let body = '';
    const fetch: FetchLike = async (request) => {
      seen = request;
      body = await request.text();
      return new Response('{}');
    };
    await transport(fetch, ['http://127.0.0.1:2379/']).request('/kv/range', { key: 'Zm9v' });
    assert.ok(seen);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, 'http://127.0.0.1:2379/v3/kv/range');
    assert.equal(body, '{"key":"Zm9v"}');
    assert.equal(seen.headers.get('authorization'), null);
    assert.match(seen.headers.get('content-type') ?? '', /^text\/plain/);
    for (const [name] of seen.headers)
      assert.ok(['accept', 'content-type'].includes(name), `unexpected header ${name}`);
  });

  test('the token goes in Authorization, as is, when there is one', async () => {
    let header: string | null = null;
    const t = new Transport({
      endpoints: ['http://127.0.0.1:1'],
      auth: { token: 'abc.12' },
      fetch: async (request) => {
        header = request.headers.get('authorization');
        return new Response('{}');
      },
    });
    await t.request('/kv/range', {});
    assert.equal(header, 'abc.12');
  });

  test('reads fail over to the next endpoint on a network error; writes do not and say they may not have applied', async () => {
    const hosts: string[] = [];
    const fetch: FetchLike = async (request) => {
      const url = new URL(request.url);
      hosts.push(url.port);
      if (url.port === '1') throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return new Response('{"count":"1"}');
    };
    const t = transport(fetch, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    assert.deepEqual(await t.request('/kv/range', {}, { idempotent: true }), { count: '1' });
    assert.deepEqual(hosts, ['1', '2']);

    const t2 = transport(fetch, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    const error = await t2.request('/kv/put', {}).catch((e) => e);
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.mayHaveApplied, false);
    // The next call goes to the endpoint that works.
    assert.deepEqual(await t2.request('/kv/put', {}), { count: '1' });
  });

  test('a TLS failure (an untrusted certificate) is not retried: one attempt, a typed error that says what is wrong', async () => {
    let attempts = 0;
    const fetch: FetchLike = async () => {
      attempts++;
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('unable to verify the first certificate'), {
          code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        }),
      });
    };
    const started = performance.now();
    const error = await transport(fetch, ['https://127.0.0.1:1', 'https://127.0.0.1:2'], 5_000)
      .request('/kv/range', {}, { idempotent: true })
      .catch((e) => e);
    assert.ok(error instanceof UnavailableError, String(error));
    assert.equal(error.retryable, false);
    assert.equal(error.mayHaveApplied, false);
    assert.match(error.message, /TLS: the server's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    assert.equal(attempts, 1);
    assert.ok(performance.now() - started < 1_000);
  });

  test('bad endpoints are refused at construction', () => {
    assert.throws(() => transport(answering(200, '{}'), []), EtcdError);
    assert.throws(() => transport(answering(200, '{}'), ['127.0.0.1:2379']), EtcdError);
  });
});
