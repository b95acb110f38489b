// The playground's time travel, in Chromium against a real etcd: the prefix at an older revision
// with the keys changed since marked, the diff of two revisions (added, removed, changed, with
// value diffs), and the slider bounded by etcd's compaction point.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uniquePrefix } from '../helpers/etcd.ts';
import { assertNoPageErrors, openPlayground, shot, usePlayground, WAIT } from '../helpers/playground-page.ts';
import { axeInBothThemes, readmeImage } from '../helpers/playground-themes.ts';

describe('playground time travel', () => {
  const suite = usePlayground();

  test('shows the prefix at an older revision, marks what changed since, and diffs two revisions', async () => {
    const p = uniquePrefix('pg-time');
    await suite.etcd.put(`${p}config/app`, JSON.stringify({ color: 'blue', replicas: 3, region: 'eu-west' }));
    await suite.etcd.put(`${p}config/db`, 'postgres://db:5432/main');
    await suite.etcd.put(`${p}config/legacy`, 'to be removed');
    for (let i = 0; i < 20; i++) await suite.etcd.put(`${p}nodes/n${String(i).padStart(2, '0')}`, `up ${i}`);
    const then = (await suite.etcd.put(`${p}nodes/n00`, 'up 0')).revision;
    await suite.etcd.put(`${p}config/app`, JSON.stringify({ color: 'red', replicas: 5, region: 'eu-west' }));
    await suite.etcd.del(`${p}config/legacy`);
    await suite.etcd.put(`${p}config/cache`, 'redis://cache:6379');
    const latest = (await suite.etcd.put(`${p}nodes/n07`, 'down')).revision;

    const page = await openPlayground(suite.context, p);
    await page.click('#tt-load');
    const panel = page.locator('#time-panel');
    await panel.and(page.locator(`[data-state="shown"][data-revision="${latest}"]`)).waitFor(WAIT);
    const row = (key: string) => page.locator(`#tt-tree [role="treeitem"][data-key="${p}${key}"]`);
    await row('config/cache').waitFor(WAIT);
    assert.equal(await page.locator('#tt-revision').getAttribute('max'), String(latest));

    // Back to `then`: the key created since is gone, the changed and deleted ones are marked.
    await page.locator('#tt-revision').fill(String(then));
    await panel.and(page.locator(`[data-state="shown"][data-revision="${then}"]`)).waitFor(WAIT);
    assert.equal(await row('config/cache').count(), 0);
    assert.equal(await row('config/app').getAttribute('data-since'), 'changed');
    assert.equal(await row('config/legacy').getAttribute('data-since'), 'deleted');
    assert.equal(await row('nodes/n07').getAttribute('data-since'), 'changed');
    assert.equal(await row('config/db').getAttribute('data-since'), '');
    await page
      .locator('#tt-message', { hasText: '3 of these keys changed or went since, 1 created since' })
      .waitFor(WAIT);
    assert.match((await row('config/legacy').textContent()) ?? '', /deleted since/);

    // The diff of the whole prefix from `then` to now.
    await page.fill('#tt-from', String(latest));
    await page.click('#tt-diff-form button[type="submit"]');
    await page
      .locator('#tt-diff-message', { hasText: `revision ${then} → ${latest}: 1 added, 1 removed, 2 changed` })
      .waitFor(WAIT);
    const change = (key: string) => page.locator(`#tt-diff li[data-key="${p}${key}"]`);
    assert.equal(await change('config/cache').getAttribute('data-kind'), 'added');
    assert.equal(await change('config/legacy').getAttribute('data-kind'), 'removed');
    assert.equal(await change('nodes/n07').getAttribute('data-kind'), 'changed');
    const app = change('config/app');
    assert.equal(await app.getAttribute('data-kind'), 'changed');
    assert.deepEqual(await app.locator('.del').allTextContents(), ['-   "color": "blue",\n', '-   "replicas": 3,\n']);
    assert.deepEqual(await app.locator('.add').allTextContents(), ['+   "color": "red",\n', '+   "replicas": 5,\n']);
    assert.equal(await change('config/db').count(), 0);
    await panel.scrollIntoViewIfNeeded();
    await shot(page, 'playground-time-travel');
    await panel.screenshot({ path: readmeImage('playground-time-travel.png') });
    assert.deepEqual(await axeInBothThemes(page, '#time-panel'), []);

    // After a compaction the slider starts at the compaction point.
    await suite.etcd.compact(then);
    await page.click('#tt-load');
    await page.locator(`#tt-revision[min="${then}"]`).waitFor(WAIT);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });
});
