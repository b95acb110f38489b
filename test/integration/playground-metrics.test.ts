// The playground's metrics panel in Chromium against a real etcd: etcd's /metrics through the
// playground server, as live sparklines of the database size against its quota, leader changes,
// proposals, watchers and slow applies; it pauses on demand; axe-core in light and dark.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd, op } from 'etcd-fetch';
import { uniquePrefix } from '../helpers/etcd.ts';
import {
  artifact,
  assertNoPageErrors,
  openPlayground,
  type PlaygroundContext,
  startPlaygroundContext,
  WAIT,
} from '../helpers/playground-page.ts';
import { axeInBothThemes } from '../helpers/playground-themes.ts';

let context: PlaygroundContext;
let etcd: Etcd;

describe('playground metrics panel', () => {
  before(async () => {
    context = await startPlaygroundContext({ etcdArgs: ['--quota-backend-bytes', String(256 * 1024 * 1024)] });
    etcd = new Etcd({ endpoints: context.playground.etcdEndpoint });
  });
  after(async () => {
    etcd?.close();
    await context?.close();
  });

  test('shows database size against its quota, leader changes, proposals, watchers and slow applies as live charts', async () => {
    // The pass-through answers etcd's own /metrics text.
    const raw = await (await fetch(new URL('/etcd-metrics', context.playground.url))).text();
    assert.match(raw, /^etcd_server_leader_changes_seen_total 1$/m);
    assert.match(raw, /^etcd_server_quota_backend_bytes 2.68435456e\+08$/m);

    const p = uniquePrefix('pg-metrics');
    const page = await openPlayground(context, p);
    const panel = page.locator('#metrics-panel');
    await panel.scrollIntoViewIfNeeded();
    await page.locator('#metrics-message', { hasText: 'through the playground server' }).waitFor(WAIT);
    const metric = (id: string) => page.locator(`#metrics-list li[data-metric="${id}"]`);
    await metric('db-size').locator('.quota', { hasText: 'of 256.0 MiB quota' }).waitFor(WAIT);
    assert.equal(await metric('db-size').locator('meter').getAttribute('max'), String(256 * 1024 * 1024));
    await metric('leader-changes').locator('strong', { hasText: /^1$/ }).waitFor(WAIT);
    // Watchers: at least the tree's own watch.
    assert.ok(Number(await metric('watchers').getAttribute('data-value')) >= 1);
    // Writes while the panel samples: proposals committed and applied per second go up.
    const stop = Date.now() + 5_000;
    let written = 0;
    while (Date.now() < stop) {
      const puts = [];
      for (let i = 0; i < 20; i++) puts.push(op.put(`${p}k${written++ % 200}`, 'v'));
      await etcd
        .txn()
        .then(...puts)
        .commit();
      await new Promise((r) => setTimeout(r, 20));
    }
    await page.waitForFunction(
      () =>
        Number(
          document.querySelector('#metrics-list li[data-metric="proposals-applied"]')?.getAttribute('data-samples'),
        ) >= 2,
      undefined,
      WAIT,
    );
    const label = (await metric('proposals-committed').locator('svg').getAttribute('aria-label')) ?? '';
    const high = Number(/to ([\d.]+)\/s$/.exec(label)?.[1]);
    assert.ok(high > 1, `committed proposals per second rose while writing: ${label}`);
    for (const id of ['proposals-failed', 'slow-applies'])
      assert.match((await metric(id).locator('strong').textContent()) ?? '', /^\d+$/, id);
    assert.equal(await metric('proposals-applied').locator('svg polyline').count(), 1);
    await panel.screenshot({ path: artifact('playground-metrics.png') });

    // Paused: no more samples, not even from a read that was in flight when the pause came.
    let release = () => {};
    const held = new Promise<void>((heldNow) => {
      void page.route('**/etcd-metrics', async (route) => {
        heldNow();
        await new Promise<void>((r) => {
          release = () => r();
        });
        await route.continue().catch(() => {}); // the page may have aborted the read already
      });
    });
    await held;
    const samples = await panel.getAttribute('data-samples');
    await page.click('#metrics-pause');
    release();
    await page.unroute('**/etcd-metrics');
    await page.waitForTimeout(2_500);
    assert.equal(await panel.getAttribute('data-samples'), samples);
    assert.equal(await page.getAttribute('#metrics-pause', 'aria-pressed'), 'true');

    const failures = await axeInBothThemes(page, '#metrics-panel');
    await page.evaluate(() => {
      document.documentElement.dataset.theme = 'dark';
    });
    await panel.screenshot({ path: artifact('playground-metrics-dark.png') });
    assert.deepEqual(failures, []);
    assertNoPageErrors(page);
    await page.close();
    await etcd.del({ prefix: p });
  });
});
