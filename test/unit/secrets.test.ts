// Neither the token nor the password shows in any failure, on every failure path: a reset or
// refused connection, a timeout, a 401, a 5xx, a watch stream that breaks (and its onReconnect
// info), and a lease lost because its keep-alives fail. Checked with String, JSON.stringify and
// util.inspect at any depth, following the whole `cause` chain. A local HTTP server plays the
// failing gateway, so the errors are the runtime's real ones.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Etcd, type EtcdOptions, isEtcdError, type LeaseLostError, type ReconnectInfo } from '../../src/index.ts';
import { RelayPool } from '../../src/relay/index.ts';

const PASSWORD = 'Pw-Secret-7731';
const TOKEN = 'Tok-Secret-5518.12';

type Behaviour = 'reset' | 'hang' | '401' | '503' | 'watch-breaks' | 'keepalive-resets';
let behaviour: Behaviour = 'reset';
let server: Server;
let endpoint = '';

function answer(request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://x').pathname;
  if (path === '/v3/auth/authenticate') return void response.end(JSON.stringify({ token: TOKEN }));
  if (path === '/v3/lease/grant') return void response.end('{"ID":"4242","TTL":"2"}');
  switch (behaviour) {
    case 'reset':
    case 'keepalive-resets':
      return void request.socket.destroy();
    case 'hang':
      return;
    case '401':
      return void response
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"code":16,"message":"etcdserver: invalid auth token"}');
    case '503':
      return void response
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"code":14,"message":"etcdserver: request timed out"}');
    case 'watch-breaks':
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(`{"result":{"header":{"revision":"5"},"created":true}}\n`);
      setTimeout(() => request.socket.destroy(), 20);
  }
}

/** Every way an error can be looked at, through its whole cause chain. */
function views(value: unknown): string[] {
  const out: string[] = [];
  for (
    let link = value, depth = 0;
    link !== undefined && link !== null && depth < 20;
    link = (link as { cause?: unknown }).cause, depth++
  ) {
    out.push(
      String(link),
      JSON.stringify(link) ?? '',
      inspect(link, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    );
  }
  return out;
}

function assertNoSecret(value: unknown, what: string): void {
  for (const view of views(value))
    assert.ok(!view.includes(TOKEN) && !view.includes(PASSWORD), `${what} shows a secret: ${view.slice(0, 400)}`);
}

const clients = (): Array<[string, EtcdOptions['auth']]> => [
  ['a token', { token: TOKEN }],
  ['a password', { username: 'root', password: PASSWORD }],
];

describe('no secret in any failure', () => {
  before(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => answer(request, response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  for (const [what, failure] of [
    ['a reset connection', 'reset'],
    ['a timeout', 'hang'],
    ['a 401', '401'],
    ['a 503', '503'],
  ] as const) {
    test(`unary calls: ${what}`, async () => {
      behaviour = failure;
      for (const [who, auth] of clients()) {
        const etcd = new Etcd({ endpoints: endpoint, auth, timeout: 600 });
        for (const call of [() => etcd.get('a'), () => etcd.put('a', 'b'), () => etcd.revoke('1')]) {
          const error = await call().catch((e: unknown) => e);
          assert.ok(isEtcdError(error), `${what} with ${who}: ${String(error)}`);
          assertNoSecret(error, `${what} with ${who}`);
        }
      }
    });
  }

  test('a refused connection', async () => {
    for (const [who, auth] of clients()) {
      const etcd = new Etcd({ endpoints: 'http://127.0.0.1:9', auth, timeout: 600 });
      const error = await etcd.get('a').catch((e: unknown) => e);
      assert.ok(isEtcdError(error), String(error));
      assertNoSecret(error, `a refused connection with ${who}`);
    }
  });

  test('a watch stream that breaks: the onReconnect info and the final error', async () => {
    behaviour = 'watch-breaks';
    for (const [who, auth] of clients()) {
      await using etcd = new Etcd({ endpoints: endpoint, auth });
      const infos: ReconnectInfo[] = [];
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: 'a/', signal: controller.signal, onReconnect: (info) => infos.push(info) });
      const iterating = (async () => {
        for await (const _ of watch);
      })().catch((e: unknown) => e);
      for (let i = 0; i < 200 && infos.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      const error = await iterating;
      assert.ok(infos.length >= 2, `${who}: ${infos.length} reconnects`);
      for (const info of infos) assertNoSecret(info, `a watch reconnect with ${who}`);
      assertNoSecret(error, `the watch's end with ${who}`);
    }
  });

  test("a lease lost because its keep-alives fail: lost's reason", async () => {
    behaviour = 'keepalive-resets';
    for (const [who, auth] of clients()) {
      await using etcd = new Etcd({ endpoints: endpoint, auth, timeout: 500 });
      const lease = await etcd.grant(2);
      await new Promise((resolve) => lease.lost.addEventListener('abort', resolve, { once: true }));
      const reason = lease.lost.reason as LeaseLostError;
      assert.equal(reason.name, 'LeaseLostError');
      assertNoSecret(reason, `a lost lease with ${who}`);
    }
  });

  test('a relay pool does not show the resumeSecret it signs with', async () => {
    const pool = new RelayPool();
    const signer = pool.signer(`${TOKEN}-relay-secret-of-32-chars`, '{"prefix":"YS8="}');
    await signer.sign('12.1');
    assertNoSecret(pool, 'a relay pool');
    assertNoSecret(signer, 'an id signer');
  });
});
