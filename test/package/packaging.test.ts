// What ships: the packed tarball passes publint and "are the types wrong", and the browser bundle stays in budget.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
/** Regression ceiling for dist/etcd-fetch.browser.js, min+gzip (31 KB today; the goal is 15 KB, see the README). */
const BROWSER_BUDGET = 36 * 1024;

let directory: string;
let tarball: string;

describe('the packed package', () => {
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'etcd-fetch-pack-'));
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', directory], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1)!;
    tarball = join(directory, name);
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  test('publint finds nothing, strictly', () => {
    const output = execFileSync(bin('publint'), ['run', tarball, '--strict'], { cwd: root, encoding: 'utf8' });
    assert.match(output, /All good/);
  });

  test('the types resolve for ESM consumers (are-the-types-wrong, esm-only profile)', () => {
    execFileSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped'], { cwd: root, encoding: 'utf8' });
  });

  test('the browser bundle is self-contained and within its size budget', (t) => {
    const bundle = readFileSync(join(root, 'dist/etcd-fetch.browser.js'));
    assert.doesNotMatch(bundle.toString(), /\bimport\s*(?:[\w$*{}\s,]+from\s*)?["'](?![./])/, 'no bare import left in the bundle');
    const gzipped = gzipSync(bundle, { level: 9 }).length;
    t.diagnostic(`dist/etcd-fetch.browser.js: ${(bundle.length / 1024).toFixed(1)} KB min, ${(gzipped / 1024).toFixed(1)} KB min+gzip (budget ${BROWSER_BUDGET / 1024} KB)`);
    assert.ok(gzipped <= BROWSER_BUDGET, `browser bundle is ${gzipped} bytes gzipped, over the ${BROWSER_BUDGET} budget`);
  });
});
