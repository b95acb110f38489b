// Every example in examples/ runs as a user would run it, against a real etcd, with etcd-fetch
// installed from the packed tarball: Node, Deno and Bun scripts, the CDN page, the dashboard widget
// and the Vite app in Chromium, and the Cloudflare worker (relay behind an auth check) in workerd.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Etcd, UnauthenticatedError } from 'etcd-fetch';
import { subscribe } from 'etcd-fetch/relay';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '../../scripts/etcd.ts';
import { launchChromium } from '../helpers/browser.ts';
import { useEtcd } from '../helpers/etcd.ts';
import { CDN_PREFIX, exampleCopy, packedPackage, root } from '../helpers/example.ts';
import { runProcess } from '../helpers/run-process.ts';
import { serveFolder } from '../helpers/static-server.ts';

const bin = (name: string) => join(root, 'node_modules/.bin', name);
const etcdUnderTest = useEtcd();
let etcd: Etcd;
let browser: Browser & AsyncDisposable;

/**
 * A Chromium page of `folder`'s files, served on localhost, whose CDN imports are answered from the
 * unpacked tarball; any other request to the internet fails the page.
 */
async function openPage(
  folder: string,
  path: string,
): Promise<{ page: Page; errors: string[]; [Symbol.asyncDispose](): Promise<void> }> {
  browser ??= await launchChromium();
  const site = await serveFolder(folder);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  const packageDir = packedPackage();
  await page.route(/^https?:\/\/(?!localhost|127\.0\.0\.1)/, async (route) => {
    const url = route.request().url();
    if (!url.startsWith(CDN_PREFIX)) {
      errors.push(`unexpected request to ${url}`);
      return route.abort();
    }
    return route.fulfill({
      contentType: 'text/javascript',
      body: readFileSync(join(packageDir, url.slice(CDN_PREFIX.length))),
    });
  });
  await page.goto(`${site.origin}${path}`);
  return {
    page,
    errors,
    async [Symbol.asyncDispose]() {
      await page.close();
      await site.close();
    },
  };
}

describe('examples, each from the packed tarball against a real etcd', () => {
  const env = () => ({ ETCD_ENDPOINTS: etcdUnderTest.endpoint });
  before(async () => {
    etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    for (const prefix of ['examples/', 'dashboard/']) await etcd.del({ prefix });
  });
  after(async () => {
    etcd?.close();
    await browser?.[Symbol.asyncDispose]();
  });

  test('node: puts, reads back and sees its own change in a watch', async () => {
    const output = await runProcess(bin('node'), ['index.js'], env(), undefined, exampleCopy('node'));
    assert.match(output, /^get: hello from Node$/m);
    assert.match(output, /^watch: put examples\/node\/greeting hello from Node$/m);
  });

  test('deno: a transaction guarded by the value just put (Deno.env, node_modules from the tarball)', async () => {
    const folder = exampleCopy('deno');
    const tasks = JSON.parse(readFileSync(join(folder, 'deno.json'), 'utf8')).tasks as { start: string };
    const args = tasks.start.replace(/^deno /, '').split(' ');
    // The task's own flags, plus: resolve npm:etcd-fetch from node_modules, never from a registry.
    const output = await runProcess(
      bin('deno'),
      [args[0]!, '--node-modules-dir=manual', '--cached-only', ...args.slice(1)],
      env(),
      undefined,
      folder,
    );
    assert.match(output, /^txn succeeded: true$/m);
    assert.match(output, /^get: yes$/m);
  });

  test('bun: a key bound to a lease goes when the lease is revoked', async () => {
    const output = await runProcess(bin('bun'), ['index.ts'], env(), undefined, exampleCopy('bun'));
    assert.match(output, /^get: alive$/m);
    assert.match(output, /^after revoke: gone$/m);
  });

  test('browser-cdn: the page imports the CDN file, puts a message and shows others live', async () => {
    await using opened = await openPage(
      exampleCopy('browser-cdn'),
      `/index.html?etcd=${encodeURIComponent(etcdUnderTest.endpoint)}`,
    );
    const { page, errors } = opened;
    const last = page.locator('#last');
    await page.waitForFunction(() => document.querySelector('output')?.value !== '…');
    await etcd.put('examples/page/message', 'written by Node');
    await assert.doesNotReject(
      last.filter({ hasText: 'written by Node' }).waitFor({ timeout: 15_000 }),
      errors.join('\n'),
    );
    await page.fill('#message', 'written by the page');
    await page.click('button');
    await last.filter({ hasText: 'written by the page' }).waitFor({ timeout: 15_000 });
    assert.equal((await etcd.get('examples/page/message'))?.valueText, 'written by the page');
    assert.deepEqual(errors, []);
  });

  test('dashboard-widget: <etcd-watch> lists a prefix and follows puts and deletes', async () => {
    await etcd.put('dashboard/services/api', 'up');
    await using opened = await openPage(
      exampleCopy('dashboard-widget'),
      `/index.html?etcd=${encodeURIComponent(etcdUnderTest.endpoint)}`,
    );
    const { page, errors } = opened;
    const rows = page.locator('etcd-watch tr');
    await assert.doesNotReject(rows.filter({ hasText: 'apiup' }).waitFor({ timeout: 15_000 }), errors.join('\n'));
    await etcd.put('dashboard/services/db', 'degraded');
    await rows.filter({ hasText: 'dbdegraded' }).waitFor({ timeout: 15_000 });
    await etcd.del('dashboard/services/api');
    await rows.filter({ hasText: 'apiup' }).waitFor({ state: 'detached', timeout: 15_000 });
    assert.deepEqual(await rows.allTextContents(), ['dbdegraded']);
    assert.deepEqual(errors, []);
  });

  test('vite: the app builds with etcd-fetch from npm, lists flags and turns one on', async () => {
    const folder = exampleCopy('vite');
    await runProcess(
      bin('node'),
      [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
      { VITE_ETCD_ENDPOINTS: etcdUnderTest.endpoint },
      undefined,
      folder,
    );
    await etcd.put('examples/vite/flags/dark-mode', 'on');
    await using opened = await openPage(join(folder, 'dist'), '/index.html');
    const { page, errors } = opened;
    await assert.doesNotReject(
      page.locator('#flags li', { hasText: 'dark-mode: on' }).waitFor({ timeout: 15_000 }),
      errors.join('\n'),
    );
    assert.deepEqual(await page.locator('#flags li').allTextContents(), ['dark-mode: on']);
    await page.fill('#name', 'beta');
    await page.click('button');
    await page.locator('#flags li', { hasText: 'beta: on' }).waitFor({ timeout: 15_000 });
    assert.equal((await etcd.get('examples/vite/flags/beta'))?.valueText, 'on');
    assert.deepEqual(errors, []);
  });

  test('cloudflare-worker (workerd): refuses a request without the token, relays changes to one with it', async () => {
    const folder = exampleCopy('cloudflare-worker');
    const port = await freePort();
    // What wrangler does before deploying: esbuild bundles the worker with its npm imports.
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(folder, 'src/worker.js')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      conditions: ['workerd', 'worker', 'browser'],
      outfile: join(folder, 'dist/worker.js'),
      logLevel: 'silent',
    });
    writeFileSync(join(folder, 'workerd.capnp'), workerdConfig());
    const child = spawn(bin('workerd'), ['serve', 'workerd.capnp', '--socket-addr', `http=127.0.0.1:${port}`], {
      cwd: folder,
      env: {
        ...process.env,
        ETCD_ENDPOINTS: etcdUnderTest.endpoint,
        WATCH_PREFIX: 'examples/worker/',
        API_TOKEN: 'example-api-token',
        RELAY_SECRET: 'x'.repeat(40),
      },
    });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    try {
      const url = `http://127.0.0.1:${port}/events`;
      let refused: Response | undefined;
      for (let attempt = 0; refused === undefined; attempt++) {
        refused = await fetch(url).catch(async (error) => {
          if (attempt === 100) throw new Error(`workerd did not start: ${String(error)}\n${log}`);
          await new Promise((r) => setTimeout(r, 100));
          return undefined;
        });
      }
      assert.equal(refused.status, 401, log);
      await assert.rejects(
        subscribe(url, { headers: { authorization: 'Bearer wrong' } })
          [Symbol.asyncIterator]()
          .next(),
        UnauthenticatedError,
      );

      const controller = new AbortController();
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      const events = subscribe(url, {
        headers: { authorization: 'Bearer example-api-token' },
        signal: controller.signal,
        onReady: () => ready(),
      })[Symbol.asyncIterator]();
      const first = events.next();
      await isReady;
      await etcd.put('examples/worker/status', 'green');
      const { value } = await first;
      assert.equal(value?.type, 'put');
      assert.equal(value?.kv.keyText, 'examples/worker/status');
      assert.equal(value?.kv.valueText, 'green');
      controller.abort();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** workerd's config for the example: its worker, and `etcd-fetch` as the package's entry resolves it. */
function workerdConfig(): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "relay", worker = .relay), (name = "internet", network = (allow = ["public", "private", "local"]))],
  sockets = [(name = "http", address = "127.0.0.1:8790", http = (), service = "relay")],
);
const relay :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "dist/worker.js"),
  ],
  bindings = [${['ETCD_ENDPOINTS', 'WATCH_PREFIX', 'API_TOKEN', 'RELAY_SECRET'].map((name) => `(name = "${name}", fromEnvironment = "${name}")`).join(', ')}],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
`;
}
