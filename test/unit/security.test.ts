// Secrets and redirects. JSON/inspect dumps of a client and etcd's own auth errors are covered
// by test/unit/services.test.ts and test/integration/auth.test.ts; this file adds URLs, log
// lines, failures while authenticating, credentials in endpoints and cross-origin redirects.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import type { FetchLike } from '../../src/core/call-options.ts';
import { EtcdError, isEtcdError } from '../../src/core/errors.ts';
import { Etcd } from '../../src/index.ts';
import { subscribe } from '../../src/relay/index.ts';

const PASSWORD = 'Pw-Secret-0451';
const TOKEN = 'Tok-Secret-9922.41';

function everyView(value: unknown): string[] {
  return [
    String(value),
    (value as Error)?.message ?? '',
    (value as Error)?.stack ?? '',
    JSON.stringify(value) ?? '',
    inspect(value, { depth: 20, showHidden: true }),
  ];
}

function assertNoSecret(value: unknown, what: string): void {
  for (const view of everyView(value)) {
    assert.ok(!view.includes(PASSWORD) && !view.includes(TOKEN), `${what} shows a secret: ${view}`);
  }
}

/** Records every request and every console line, answering as `answer` says. */
function recording(answer: (request: Request) => Promise<Response> | Response) {
  const urls: string[] = [];
  const fetch: FetchLike = async (request) => {
    urls.push(request.url);
    return answer(request);
  };
  return { urls, fetch };
}

async function capturingConsole<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => void lines.push(args.map((a) => inspect(a)).join(' '));
  try {
    return { result: await run(), lines };
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]!));
  }
}

describe('secrets', () => {
  test('neither the password nor the token is ever part of a URL, and the client logs nothing', async () => {
    const { urls, fetch } = recording(async (request) => {
      if (request.url.endsWith('/auth/authenticate')) return new Response(`{"token":"${TOKEN}"}`);
      if (request.headers.get('authorization') !== TOKEN)
        return new Response('{"code":16,"message":"etcdserver: invalid auth token"}', { status: 401 });
      return new Response('{"kvs":[]}');
    });
    const { lines } = await capturingConsole(async () => {
      const etcd = new Etcd({ endpoints: 'http://127.0.0.1:1', auth: { username: 'root', password: PASSWORD }, fetch });
      await etcd.get('a');
      await etcd.put('a', 'b');
      await etcd.get('a', { timeout: 1 }).catch(() => {});
    });
    assert.ok(urls.length >= 3);
    for (const url of urls) assert.ok(!url.includes(PASSWORD) && !url.includes(TOKEN), url);
    assert.deepEqual(lines, []);
  });

  test('a network failure, a broken answer or a timeout while authenticating shows no secret', async () => {
    const failures: Array<(request: Request) => Promise<Response>> = [
      async () => {
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        });
      },
      async () => new Response('{"token":', { status: 200 }),
      async () => new Response('<html>bad gateway</html>', { status: 502 }),
      async () =>
        new Response('{"code":3,"message":"etcdserver: authentication failed, invalid user ID or password"}', {
          status: 400,
        }),
      (request) =>
        new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason))),
    ];
    for (const failure of failures) {
      const { fetch } = recording(failure);
      const etcd = new Etcd({
        endpoints: 'http://127.0.0.1:1',
        auth: { username: 'root', password: PASSWORD },
        fetch,
        timeout: 300,
      });
      const error = await etcd.get('a').catch((e: unknown) => e);
      assert.ok(isEtcdError(error), String(error));
      assertNoSecret(error, 'an authentication failure');
      assertNoSecret(etcd, 'the client after a failed authentication');
    }
  });

  test('an error after a successful authentication shows no token', async () => {
    const { fetch } = recording(async (request) => {
      if (request.url.endsWith('/auth/authenticate')) return new Response(`{"token":"${TOKEN}"}`);
      return new Response('{"code":7,"message":"etcdserver: permission denied"}', { status: 403 });
    });
    const etcd = new Etcd({ endpoints: 'http://127.0.0.1:1', auth: { username: 'root', password: PASSWORD }, fetch });
    const error = await etcd.put('a', 'b').catch((e: unknown) => e);
    assertNoSecret(error, 'a permission error');
    assertNoSecret(etcd, 'an authenticated client');
    const withToken = new Etcd({ endpoints: 'http://127.0.0.1:1', auth: { token: TOKEN }, fetch });
    assertNoSecret(await withToken.put('a', 'b').catch((e: unknown) => e), 'a permission error with a static token');
    assertNoSecret(withToken, 'a client with a static token');
  });

  test("no error carries ky's Request (which holds the token): reset, 503 until the deadline, 5xx on a write, a per-attempt timeout", async () => {
    const answers: Array<[string, (request: Request) => Promise<Response>]> = [
      [
        'a reset connection',
        async () =>
          Promise.reject(
            new TypeError('fetch failed', {
              cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
            }),
          ),
      ],
      [
        'a member that stays unavailable',
        async () => new Response('{"code":14,"message":"etcdserver: request timed out"}', { status: 503 }),
      ],
      [
        'an endpoint that never answers',
        (request) =>
          new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason))),
      ],
    ];
    for (const [what, answer] of answers) {
      const { fetch } = recording(answer);
      const etcd = new Etcd({ endpoints: 'http://127.0.0.1:1', auth: { token: TOKEN }, fetch, timeout: 1_500 });
      for (const call of [() => etcd.get('a'), () => etcd.put('a', 'b')]) {
        const error = await call().catch((e: unknown) => e);
        assert.ok(isEtcdError(error), `${what}: ${String(error)}`);
        for (let link: unknown = error; link !== undefined; link = (link as { cause?: unknown }).cause) {
          assert.ok(!(link instanceof Request) && !('request' in (link as object)), `${what}: a cause holds a request`);
        }
        assertNoSecret(error, what);
      }
    }
  });

  test('an endpoint with a user or password in it is refused, without repeating them', () => {
    for (const endpoint of [
      `http://root:${PASSWORD}@127.0.0.1:2379`,
      `http://${TOKEN}@127.0.0.1:2379`,
      `root:${PASSWORD}@127.0.0.1:2379`,
    ]) {
      const error = (() => {
        try {
          new Etcd({ endpoints: endpoint });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(error instanceof EtcdError, `${endpoint} was accepted`);
      assertNoSecret(error, 'the endpoint error');
    }
  });
});

describe('redirects', () => {
  let target: Server;
  let redirector: Server;
  let targetUrl = '';
  let redirectorUrl = '';
  const seen: IncomingHttpHeaders[] = [];
  let status = 307;

  before(async () => {
    target = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      response.end('{"kvs":[]}');
    });
    redirector = createServer((request, response) => {
      request.resume();
      response.writeHead(status, { location: `${targetUrl}${request.url}` });
      response.end();
    });
    await Promise.all(
      [target, redirector].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
    );
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of [target, redirector]) s.closeAllConnections();
    await Promise.all([target, redirector].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  test('a redirect to another origin is not followed, so the Authorization header never leaves', async () => {
    for (status of [301, 302, 303, 307, 308]) {
      for (const etcd of [
        new Etcd({ endpoints: redirectorUrl, auth: { token: TOKEN } }),
        new Etcd({ endpoints: redirectorUrl, auth: { username: 'root', password: PASSWORD } }),
      ]) {
        const error = await etcd.get('a').catch((e: unknown) => e);
        assert.ok(isEtcdError(error), `HTTP ${status}: ${String(error)}`);
        assert.match(error.message, /redirect/);
        assertNoSecret(error, 'the redirect error');
      }
    }
    assert.equal(seen.length, 0, `the other origin got ${JSON.stringify(seen)}`);
    // The target itself works: only the redirect was refused.
    assert.deepEqual((await new Etcd({ endpoints: targetUrl, auth: { token: TOKEN } }).range({ prefix: 'a' })).kvs, []);
    assert.equal(seen.at(-1)?.authorization, TOKEN);
  });

  test('subscribe() does not follow a redirect either: its headers (an API key) never reach the other server', async () => {
    seen.length = 0;
    for (status of [301, 302, 303, 307, 308]) {
      const events = subscribe(`${redirectorUrl}/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const error = await events.next().catch((e: unknown) => e);
      assert.ok(isEtcdError(error), `HTTP ${status}: ${String(error)}`);
      assert.match(error.message, /redirect/);
    }
    assert.equal(seen.length, 0, `the other server got ${JSON.stringify(seen)}`);
  });
});
