// What a user's dashboard page pays for etcd-fetch, measured as a user measures it: a Vite build of a
// page that uses the `Etcd` class for get, put, range, txn and watch, with etcd-fetch installed from
// the packed tarball. The ceiling catches regressions; the goal (24 KB) is printed beside it.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { exampleScratch } from '../helpers/example.ts';

/** Regression ceiling, min+gzip (33.9 KB measured with esbuild: the KV core with its ky, the watch stream, leases). */
const DASHBOARD_CEILING = 36 * 1024;
const DASHBOARD_GOAL = 24 * 1024;

const PAGE = `import { Etcd, cmp, op } from 'etcd-fetch';
const etcd = new Etcd({ endpoints: 'http://127.0.0.1:2379' });
await etcd.put('dashboard/a', '1');
console.log((await etcd.get('dashboard/a'))?.valueText, (await etcd.range({ prefix: 'dashboard/' }, { limit: 10 })).count);
await etcd.txn().if(cmp.version('dashboard/b', '=', 0)).then(op.put('dashboard/b', '2')).commit();
for await (const event of etcd.watch({ prefix: 'dashboard/' })) console.log(event.type, event.kv.keyText);
`;

test('a Vite build of a dashboard page through Etcd (get, put, range, txn, watch) stays under its ceiling', async (t) => {
  const folder = exampleScratch('dashboard-size');
  writeFileSync(join(folder, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
  writeFileSync(join(folder, 'main.js'), PAGE);
  const { build } = await import('vite');
  await build({ root: folder, logLevel: 'silent', build: { outDir: join(folder, 'dist'), target: 'es2022' } });
  const assets = join(folder, 'dist', 'assets');
  mkdirSync(assets, { recursive: true });
  const scripts = readdirSync(assets).filter((name) => name.endsWith('.js'));
  const gzipped = scripts.reduce(
    (sum, name) => sum + gzipSync(readFileSync(join(assets, name)), { level: 9 }).length,
    0,
  );
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  t.diagnostic(
    `dashboard page (Vite): ${kb(gzipped)} KB min+gzip in ${scripts.length} chunk(s); ceiling ${kb(DASHBOARD_CEILING)} KB, goal ${kb(DASHBOARD_GOAL)} KB: ${gzipped <= DASHBOARD_GOAL ? 'met' : 'not met'}`,
  );
  assert.ok(gzipped > 10 * 1024, 'the page bundled etcd-fetch (a tiny bundle means the build lost it)');
  assert.ok(gzipped <= DASHBOARD_CEILING, `the dashboard page is ${gzipped} bytes gzipped, over ${DASHBOARD_CEILING}`);
});
