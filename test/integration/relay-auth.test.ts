// The relay behind an auth check (test/runtimes/relay-auth-worker.js in workerd): only requests
// with a token the worker signed get a stream, CORS answers one origin and never `*`, and a page
// of that origin reads events with `subscribe` and a bearer token while a page of another cannot.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { freePort } from '../../scripts/etcd.ts';
import { launchChromium } from '../helpers/browser.ts';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { serveRepo } from '../helpers/static-server.ts';
import { SseReader, sleep, startRelay, stopRelay } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();
const AUTH_SECRET = 'the login service and the relay share this';

/** A token as the site's login would issue it: `<user>.<expiry>.<HMAC-SHA256, base64url>`. */
async function token(user: string, expiresInSeconds = 600, secret = AUTH_SECRET): Promise<string> {
  const expiry = Math.floor(Date.now() / 1000) + expiresInSeconds;
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${user}.${expiry}`)));
  const signature = btoa(String.fromCharCode(...mac))
    .replace(/=+$/, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  return `${user}.${expiry}.${signature}`;
}

describe('SSE relay behind an auth check, in workerd', () => {
  const prefix = uniquePrefix('relay-auth');
  let relay: ChildProcess | undefined;
  let site: Awaited<ReturnType<typeof serveRepo>>;
  let url = '';
  let etcd: Etcd;

  before(async () => {
    site = await serveRepo();
    const port = await freePort();
    url = `http://127.0.0.1:${port}/events`;
    const env = {
      ETCD_ENDPOINT: etcdUnderTest.endpoint,
      WATCH_PREFIX: prefix,
      ALLOW_ORIGIN: site.origin,
      AUTH_SECRET,
      RELAY_SECRET: 'ids are signed with this secret of 40+ chars',
    };
    relay = await startRelay('relay-auth-workerd.capnp', port, env);
    etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
  });
  after(async () => {
    if (relay) await stopRelay(relay);
    await site?.close();
    await etcd?.close();
  });

  test('no token, an expired, forged or tampered one: 401 with CORS for the allowed origin only', async () => {
    const good = await token('ada');
    const [user, expiry, signature] = good.split('.');
    const refused = [
      undefined,
      await token('ada', -10),
      await token('ada', 600, 'another secret'),
      `eve.${expiry}.${signature}`,
      `${user}.${Number(expiry) + 1}.${signature}`,
      'garbage',
    ];
    for (const bad of refused) {
      const response = await fetch(url, {
        headers: { origin: site.origin, ...(bad ? { authorization: `Bearer ${bad}` } : {}) },
      });
      assert.equal(response.status, 401, String(bad));
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.equal(response.headers.get('access-control-allow-origin'), site.origin);
      await response.body?.cancel();
    }
    const other = await fetch(url, { headers: { origin: 'http://evil.test:8080', authorization: `Bearer ${good}` } });
    assert.equal(other.headers.get('access-control-allow-origin'), null, 'another origin gets no CORS header');
    await other.body?.cancel();
  });

  test('preflight: allowed for the one origin (authorization header), refused for another, never *', async () => {
    const ask = (origin: string) =>
      fetch(url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await ask(site.origin);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), site.origin);
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const other = await ask('http://evil.test:8080');
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('a valid bearer token or session cookie gets the stream', async () => {
    const bearer = await fetch(url, { headers: { authorization: `Bearer ${await token('ada')}` } });
    const cookie = await fetch(url, { headers: { cookie: `theme=dark; relay_session=${await token('bob')}` } });
    for (const response of [bearer, cookie]) {
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const sse = new SseReader(response.body);
      assert.equal((await sse.until('ready')).at(-1)?.event, 'ready');
      await sse.reader.cancel();
    }
  });

  test("a page of the allowed origin reads events with subscribe and a bearer token; another origin's page cannot", async () => {
    await using browser = await launchChromium();
    const goodToken = await token('ada');
    const pageUrl = (origin: string) =>
      `${origin}/test/runtimes/relay-auth-page.html?relay=${encodeURIComponent(url)}&token=${goodToken}`;
    const allowed = await browser.newPage();
    await allowed.goto(pageUrl(site.origin));
    await allowed.waitForFunction(() => (window as any).ready, undefined, { timeout: 20_000 });
    // The same server under another origin (127.0.0.1 instead of localhost).
    const foreign = await browser.newPage();
    await foreign.goto(pageUrl(site.origin.replace('localhost', '127.0.0.1')));
    for (let i = 0; i < 3; i++) await etcd.put(`${prefix}k${i}`, `v${i}`);
    await allowed.waitForFunction(() => (window as any).subscribed.length >= 3, undefined, { timeout: 20_000 });
    assert.deepEqual(
      await allowed.evaluate(() => (window as any).subscribed),
      [0, 1, 2].map((i) => `put ${prefix}k${i}`),
    );
    await foreign.waitForFunction(() => (window as any).reconnects.length >= 1, undefined, { timeout: 20_000 });
    await sleep(200);
    assert.deepEqual(
      await foreign.evaluate(() => ({ ready: (window as any).ready, subscribed: (window as any).subscribed })),
      { ready: false, subscribed: [] },
    );
  });
});
