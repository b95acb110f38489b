// The playground's key tree at scale and under churn, in Chromium against a real etcd:
// a 30 000-key folder, search and the list view, exact folder counts, a tree that follows every
// change whatever the watch panel watches, a burst of updates, and an honest connection status.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { op } from 'etcd-fetch';
import { uniquePrefix } from '../helpers/etcd.ts';
import {
  artifact,
  assertNoPageErrors,
  openPlayground,
  shot,
  treeFolder,
  treeKey,
  usePlayground,
  WAIT,
} from '../helpers/playground-page.ts';

const suite = usePlayground();

async function fill(prefix: string, count: number, value = (i: number) => `v${i}`) {
  for (let start = 0; start < count; start += 120) {
    const puts = [];
    for (let i = start; i < Math.min(start + 120, count); i++)
      puts.push(op.put(`${prefix}${String(i).padStart(5, '0')}`, value(i)));
    await suite.etcd
      .txn()
      .then(...puts)
      .commit();
  }
}

describe('playground key tree', () => {
  test('opens a 30 000-key folder and reaches its last key with the End key; search and the list view find keys', async () => {
    const p = uniquePrefix('pg-scale');
    await fill(`${p}huge/k`, 30_000);
    await suite.etcd.put(`${p}other/needle-1`, 'x');
    const page = await openPlayground(suite.context, p);
    await treeFolder(page, `${p}huge/`).locator('.count', { hasText: '30,000' }).waitFor(WAIT);
    await treeFolder(page, `${p}huge/`).click();
    await treeKey(page, `${p}huge/k00000`).waitFor(WAIT);
    await page.keyboard.press('End');
    await treeKey(page, `${p}huge/k29999`).waitFor(WAIT);
    assert.equal(await treeKey(page, `${p}huge/k29999`).getAttribute('aria-posinset'), '30000');
    await shot(page, 'playground-tree-30000-end');

    // Search: a substring anywhere in the key, over every key under the prefix.
    await page.fill('#search', 'k2999');
    await treeKey(page, `${p}huge/k29995`).waitFor(WAIT);
    await page.locator('#tree-count', { hasText: '10 keys found in 30,001 keys' }).waitFor(WAIT);
    await shot(page, 'playground-search');
    await page.fill('#search', 'NEEDLE');
    await treeKey(page, `${p}other/needle-1`).waitFor(WAIT);
    // A new matching key shows up in the results by itself.
    await suite.etcd.put(`${p}other/needle-2`, 'y');
    await treeKey(page, `${p}other/needle-2`).waitFor(WAIT);
    await page.fill('#search', '');
    // The list view: every key, flat.
    await page.click('#view-list');
    await page.locator('#tree-count', { hasText: '30,002 keys found' }).waitFor(WAIT);
    await page.locator('#tree').focus();
    await page.keyboard.press('End');
    await treeKey(page, `${p}other/needle-2`).waitFor(WAIT);
    await page.click('#view-tree');
    await treeFolder(page, `${p}huge/`).waitFor(WAIT);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('the tree follows every change under its prefix while the watch panel watches another one; collapsed folders count their keys', async () => {
    const p = uniquePrefix('pg-follow');
    await fill(`${p}svc/s`, 3);
    await fill(`${p}app/a`, 1);
    const page = await openPlayground(suite.context, p);
    await page.locator('#tree-count', { hasText: '4 keys' }).waitFor(WAIT);
    // The watch panel goes elsewhere.
    await page.fill('#watch-prefix', 'somewhere-else/');
    await page.click('#watch-form button[type="submit"]');
    await page.locator('#watch-state', { hasText: 'somewhere-else/' }).waitFor(WAIT);
    // Keys created under a collapsed folder, and a lease that expires.
    await suite.etcd.put(`${p}app/b`, '2');
    await suite.etcd.put(`${p}app/c/d`, '3');
    await suite.etcd.put(`${p}app/e`, '4');
    const lease = await suite.etcd.grant(2, { keepAlive: false });
    await suite.etcd.put(`${p}svc/ephemeral`, 'gone soon', { lease: lease.id });
    await treeFolder(page, `${p}app/`).locator('.count', { hasText: /^4$/ }).waitFor(WAIT);
    await treeFolder(page, `${p}svc/`).locator('.count', { hasText: /^4$/ }).waitFor(WAIT);
    await page.locator('#tree-count', { hasText: '8 keys' }).waitFor(WAIT);
    // The lease expires (etcd deletes the key within a few seconds): the tree says so.
    await treeFolder(page, `${p}svc/`).locator('.count', { hasText: /^3$/ }).waitFor({ timeout: 20_000 });
    await page.locator('#tree-count', { hasText: '7 keys' }).waitFor(WAIT);
    await shot(page, 'playground-tree-follows');

    // Browsing a prefix that is not a folder name shows the folder by its name, not "/".
    await suite.etcd.put(`${p}bulk/x`, '1');
    await page.fill('#prefix', `${p}bulk`);
    await page.click('#tree-form button');
    await treeFolder(page, `${p}bulk/`)
      .filter({ hasText: `${p}bulk/` })
      .waitFor(WAIT);
    // A prefix with nothing under it says so.
    await page.fill('#prefix', `${p}nothing-here/`);
    await page.click('#tree-form button');
    await page.locator('#tree [role="treeitem"]', { hasText: 'no keys under' }).waitFor(WAIT);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('a burst of 3 000 updates is applied exactly: every created key appears, every deleted key goes, counts match etcd', async () => {
    const p = uniquePrefix('pg-burst');
    const page = await openPlayground(suite.context, p);
    await page.locator('#tree [role="treeitem"]', { hasText: 'no keys under' }).waitFor(WAIT);
    // 3 000 writes: creates in two folders, then rewrites, then deletes of a third of them.
    const writes = [];
    for (let i = 0; i < 1_500; i++)
      writes.push(op.put(`${p}${i % 2 ? 'odd' : 'even'}/k${String(i).padStart(4, '0')}`, `v${i}`));
    for (let i = 0; i < 1_000; i++)
      writes.push(op.put(`${p}${i % 2 ? 'odd' : 'even'}/k${String(i).padStart(4, '0')}`, `again ${i}`));
    for (let i = 0; i < 500; i++) writes.push(op.del(`${p}${i % 2 ? 'odd' : 'even'}/k${String(i).padStart(4, '0')}`));
    for (let i = 0; i < writes.length; i += 100)
      await suite.etcd
        .txn()
        .then(...writes.slice(i, i + 100))
        .commit();
    await page.locator('#tree-count', { hasText: /^1,000 keys$/ }).waitFor(WAIT);
    await treeFolder(page, `${p}even/`).locator('.count', { hasText: /^500$/ }).waitFor(WAIT);
    await treeFolder(page, `${p}odd/`).locator('.count', { hasText: /^500$/ }).waitFor(WAIT);
    await treeFolder(page, `${p}odd/`).click();
    await treeKey(page, `${p}odd/k0501`).waitFor(WAIT);
    assert.equal(await treeKey(page, `${p}odd/k0499`).count(), 0);
    await page.keyboard.press('End');
    await treeKey(page, `${p}odd/k1499`).waitFor(WAIT);
    assert.equal(await treeKey(page, `${p}odd/k1499`).getAttribute('aria-setsize'), '500');
    // Arrow keys move, Enter selects.
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await page.locator('#kv-key', { hasText: `${p}odd/k1497` }).waitFor(WAIT);
    assert.equal(await treeKey(page, `${p}odd/k1497`).getAttribute('aria-selected'), 'true');
    // The watch panel (following the tree's prefix) keeps the latest 200 rows and says so.
    await page.locator('#watch-dropped', { hasText: 'latest 200 of 3,000 events' }).waitFor(WAIT);
    assert.equal(await page.locator('#watch-events li').count(), 200);
    await shot(page, 'playground-burst');
    assert.equal(await suite.etcd.count({ prefix: p }), 1_000);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('the header says when etcd stops answering and when it is back; a folder that failed to load offers a retry', async () => {
    const p = uniquePrefix('pg-health');
    await suite.etcd.put(`${p}dir/a`, '1');
    const page = await openPlayground(suite.context, p);
    await treeFolder(page, `${p}dir/`).waitFor(WAIT);
    await suite.context.playground.etcd!.kill();
    await treeFolder(page, `${p}dir/`).click();
    await page.locator('#tree [role="treeitem"].error', { hasText: 'retry' }).waitFor({ timeout: 30_000 });
    await page.locator('#status.error', { hasText: 'not answering' }).waitFor(WAIT);
    await page.locator('#watch-panel h2').screenshot({ path: artifact('playground-watch-not-live.png') });
    await shot(page, 'playground-etcd-down');
    await suite.context.playground.etcd!.restart();
    await page.locator('#tree [role="treeitem"].error').click();
    await treeKey(page, `${p}dir/a`).waitFor(WAIT);
    await page.locator('#status.ok', { hasText: 'connected' }).waitFor(WAIT);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });
});
