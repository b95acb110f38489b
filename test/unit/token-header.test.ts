// A token is sent as the `Authorization` header as is. One that no header can carry (a
// character past U+00FF, DEL, a line break, NUL, another control character, Latin-1, or
// surrounding whitespace) is refused with a typed error before anything is sent, saying the
// token is not a valid header value and never quoting it: it never turns into an
// `UnavailableError` with `mayHaveApplied: true` for a write that was never sent. A local HTTP
// server counts what reaches it (the refusals come from the runtime's real fetch).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Etcd, InvalidArgumentError, MalformedResponseError, type TokenSource } from 'etcd-fetch';
import { status } from 'etcd-fetch/admin';

const BAD_TOKENS: Array<[string, string]> = [
  ['U+0100', 'Tok\u0100en.11'],
  ['DEL', 'Tok\u007fen.11'],
  ['U+2028', 'Tok\u2028en.11'],
  ['CR LF', 'Tok\r\nX-Evil: 1'],
  ['LF', 'Tok\nen.11'],
  ['NUL', 'Tok\u0000en.11'],
  ['U+0001', 'Tok\u0001en.11'],
  ['U+00E9 (Latin-1, sent as one byte)', 'Tok\u00e9en.11'],
  ['an emoji', 'Tok\u{1F600}en.11'],
  ['a leading space', ' Token.11'],
  ['a trailing tab', 'Token.11\t'],
];
const GOOD_TOKEN = 'aB3-_.~+/=!#$%&*^|Token.11';

let server: Server;
let endpoint = '';
/** Paths of the requests that reached the server, and the Authorization header of each. */
let seen: Array<{ path: string; authorization: string | undefined }> = [];
/** What /v3/auth/authenticate answers. */
let issued = GOOD_TOKEN;

const notSent = () => seen.filter((s) => s.path !== '/v3/auth/authenticate');
const views = (error: unknown) => [
  String(error),
  JSON.stringify(error) ?? '',
  inspect(error, { depth: 10, showHidden: true }),
];
function assertRefusal(
  error: unknown,
  type: typeof InvalidArgumentError | typeof MalformedResponseError,
  token: string,
  what: string,
): void {
  assert.ok(error instanceof type, `${what}: ${inspect(error)}`);
  assert.match((error as Error).message, /not a valid header value/, what);
  assert.notEqual((error as { mayHaveApplied?: unknown }).mayHaveApplied, true, what);
  for (const view of views(error)) assert.ok(!view.includes(token), `${what} quotes the token: ${view.slice(0, 300)}`);
}

describe('a token no header can carry is refused before sending', () => {
  before(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const path = new URL(request.url ?? '/', 'http://x').pathname;
        seen.push({ path, authorization: request.headers.authorization });
        response.setHeader('content-type', 'application/json');
        if (path === '/v3/auth/authenticate') return void response.end(JSON.stringify({ token: issued }));
        response.end('{"header":{"revision":"5"},"kvs":[],"count":"0"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a static token that is not a header value is refused when the client is made', () => {
    for (const [what, token] of BAD_TOKENS) {
      let error: unknown;
      try {
        new Etcd({ endpoints: endpoint, auth: { token } }).close();
      } catch (thrown) {
        error = thrown;
      }
      assertRefusal(error, InvalidArgumentError, token, `a static token with ${what}`);
    }
  });

  test('a token source returning a token that is not a header value: every call fails with InvalidArgumentError, nothing is sent', async () => {
    for (const [what, token] of BAD_TOKENS) {
      seen = [];
      const source: TokenSource = { token: async () => token, invalidate: () => false };
      const etcd = new Etcd({ endpoints: endpoint, auth: source, timeout: 2_000 });
      try {
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['put', () => etcd.put('k', 'v')],
          ['get', () => etcd.get('k')],
          ['delete', () => etcd.del('k')],
          ['txn', () => etcd.txn().commit()],
          ['lease grant', () => etcd.grant(10)],
          ['status', () => status(etcd)],
        ];
        for (const [call, run] of calls)
          assertRefusal(
            await run().then(
              () => 'resolved',
              (e: unknown) => e,
            ),
            InvalidArgumentError,
            token,
            `${call} with ${what}`,
          );
        const watch = etcd.watch({ key: 'k' });
        assertRefusal(
          await watch.ready.then(
            () => 'ready',
            (e: unknown) => e,
          ),
          InvalidArgumentError,
          token,
          `a watch with ${what}`,
        );
        assert.deepEqual(notSent(), [], `${what}: sent anyway`);
      } finally {
        etcd.close();
      }
    }
  });

  test('etcd answering a token that is not a header value: MalformedResponseError, nothing else is sent', async () => {
    for (const [what, token] of BAD_TOKENS) {
      seen = [];
      issued = token;
      const etcd = new Etcd({ endpoints: endpoint, auth: { username: 'root', password: 'pw' }, timeout: 2_000 });
      try {
        assertRefusal(
          await etcd.put('k', 'v').catch((e: unknown) => e),
          MalformedResponseError,
          token,
          `a put after etcd answered a token with ${what}`,
        );
        assertRefusal(
          await etcd.get('k').catch((e: unknown) => e),
          MalformedResponseError,
          token,
          `a get after etcd answered a token with ${what}`,
        );
        assert.deepEqual(notSent(), [], `${what}: sent anyway`);
      } finally {
        etcd.close();
        issued = GOOD_TOKEN;
      }
    }
  });

  test('a token of visible ASCII characters is sent exactly as given', async () => {
    seen = [];
    const etcd = new Etcd({ endpoints: endpoint, auth: { token: GOOD_TOKEN } });
    await etcd.put('k', 'v');
    etcd.close();
    const viaPassword = new Etcd({ endpoints: endpoint, auth: { username: 'root', password: 'pw' } });
    await viaPassword.put('k', 'v');
    viaPassword.close();
    assert.deepEqual(
      notSent().map((s) => s.authorization),
      [GOOD_TOKEN, GOOD_TOKEN],
    );
  });
});
