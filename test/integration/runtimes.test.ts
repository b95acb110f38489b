// The same smoke suite (test/runtimes/smoke.js) against the real etcd from every runtime the
// package promises: Node, Deno, Bun (the built npm package), Chromium and workerd (the browser bundle).
// A runtime that cannot start fails its test: none is skipped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { freePort } from '../../scripts/etcd.ts';
import { launchChromium } from '../helpers/browser.ts';
import { useEtcd } from '../helpers/etcd.ts';
import { runProcess } from '../helpers/run-process.ts';
import { serveRepo } from '../helpers/static-server.ts';
import { lib } from '../runtimes/library.ts';
import { smoke } from '../runtimes/smoke.js';

const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => resolve(root, 'node_modules/.bin', name);
// Its own etcd, with authentication on: every runtime logs in as root.
const etcdUnderTest = useEtcd({ ownServer: true });
const credentials = { username: 'root', password: 'smoke-test-password' };
const credentialEnv = () => ({
  ETCD_ENDPOINT: etcdUnderTest.endpoint,
  ETCD_USERNAME: credentials.username,
  ETCD_PASSWORD: credentials.password,
});
const credentialQuery = () =>
  `etcd=${encodeURIComponent(etcdUnderTest.endpoint)}&username=root&password=${encodeURIComponent(credentials.password)}`;

const expectAllChecks = (output: string) => {
  assert.doesNotMatch(output, /FAILED/);
  assert.match(output, /ok server errors are typed/);
  assert.match(output, /ok auth is on and the client authenticated/);
};

describe('one build, every runtime', () => {
  before(async () => {
    const admin = new lib.Etcd({ endpoints: etcdUnderTest.endpoint });
    await lib.userAdd(admin, credentials.username, credentials.password);
    await lib.roleAdd(admin, 'root');
    await lib.userGrantRole(admin, 'root', 'root');
    await lib.authEnable(admin);
  });

  test('Node', async () => {
    const checks = await smoke(lib, etcdUnderTest.endpoint, 'node', credentials);
    expectAllChecks(checks.join('\n'));
  });

  test('Deno 2, importing the built package', async () => {
    expectAllChecks(
      await runProcess(
        bin('deno'),
        ['run', '--allow-net', '--allow-env', '--allow-read', 'test/runtimes/deno.ts'],
        credentialEnv(),
      ),
    );
  });

  test('Bun, importing the built package', async () => {
    expectAllChecks(await runProcess(bin('bun'), ['test/runtimes/bun.ts'], credentialEnv()));
  });

  test('workerd (Cloudflare Workers), with the browser bundle', async () => {
    const port = await freePort();
    const child = spawn(
      bin('workerd'),
      ['serve', 'test/runtimes/workerd.capnp', '--socket-addr', `http=127.0.0.1:${port}`],
      { cwd: root },
    );
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    try {
      let body = '';
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/?${credentialQuery()}`);
          body = await response.text();
          assert.equal(response.status, 200, body);
          break;
        } catch (error) {
          if (attempt === 99 || (error as Error).name === 'AssertionError')
            throw new Error(`workerd: ${String(error)}\n${log}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expectAllChecks(body);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('Chromium, a page on another origin importing the browser bundle (CORS)', async () => {
    const site = await serveRepo();
    try {
      await using browser = await launchChromium();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${site.origin}/test/runtimes/page.html?${credentialQuery()}`);
      await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, {
        timeout: 30_000,
      });
      const result = await page.evaluate(
        () => (window as unknown as { result: { ok: boolean; checks?: string[]; error?: string } }).result,
      );
      assert.equal(result.ok, true, `${result.error}\n${errors.join('\n')}`);
      expectAllChecks(result.checks!.join('\n'));
    } finally {
      await site.close();
    }
  });
});
