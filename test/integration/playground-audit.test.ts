// The playground's audit trail, in Chromium against a real etcd: every change under a prefix
// (type, revision, sizes, lease), filters, the NDJSON export, and a reload that resumes from the
// last revision recorded, changes made while the page was away included.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { grant, revoke } from 'etcd-fetch';
import { uniquePrefix } from '../helpers/etcd.ts';
import { assertNoPageErrors, openPlayground, shot, usePlayground, WAIT } from '../helpers/playground-page.ts';
import { axeInBothThemes } from '../helpers/playground-themes.ts';

describe('playground audit trail', () => {
  const suite = usePlayground();

  test('journals every change under a prefix, filters and exports it, and resumes after a reload', async () => {
    const p = uniquePrefix('pg-audit');
    await suite.etcd.put(`${p}before`, 'not recorded: written before the recording started');
    const page = await openPlayground(suite.context, p);
    await page.fill('#audit-prefix', p);
    await page.click('#audit-form button[type="submit"]');
    await page.locator('#audit-panel[data-recording="true"]').waitFor(WAIT);
    const lease = await grant(suite.etcd.core, 120, { keepAlive: false });
    const r1 = (await suite.etcd.put(`${p}service/a`, 'up')).revision;
    const r2 = (await suite.etcd.put(`${p}service/a`, 'up and ready', { lease: lease.id })).revision;
    const r3 = (await suite.etcd.del(`${p}service/a`)).revision;
    await suite.etcd.put('elsewhere/not-recorded', 'x');
    const row = (revision: number) => page.locator(`#audit-rows tr[data-revision="${revision}"]`);
    await row(r3).waitFor(WAIT);
    assert.deepEqual(await row(r1).locator('td').allTextContents(), [
      String(r1),
      'put',
      `${p}service/a`,
      '— → 2 B',
      '',
    ]);
    assert.deepEqual(await row(r2).locator('td').allTextContents(), [
      String(r2),
      'put',
      `${p}service/a`,
      '2 B → 12 B',
      BigInt(lease.id).toString(16),
    ]);
    assert.deepEqual(await row(r3).locator('td').allTextContents(), [
      String(r3),
      'delete',
      `${p}service/a`,
      '12 B → —',
      '',
    ]);
    assert.equal(await page.locator('#audit-rows tr').count(), 3);
    // Newest first.
    assert.equal(await page.locator('#audit-rows tr').first().getAttribute('data-revision'), String(r3));

    // Filters: by type and by key.
    await page.selectOption('#audit-type', 'delete');
    await page.locator('#audit-count', { hasText: '1 of 3 changes' }).waitFor(WAIT);
    await page.selectOption('#audit-type', '');
    await page.fill('#audit-filter', 'nothing-like-this');
    await page.locator('#audit-count', { hasText: '0 of 3 changes' }).waitFor(WAIT);
    await page.fill('#audit-filter', '');

    // Reload: the changes made while the page was away are recorded too.
    await page.goto('about:blank');
    const away = (await suite.etcd.put(`${p}service/b`, 'written while the page was closed')).revision;
    await page.goto(suite.context.playground.url);
    await page.locator('#audit-message', { hasText: `resumed from revision ${r3 + 1}` }).waitFor(WAIT);
    await row(away).waitFor(WAIT);
    const live = (await suite.etcd.put(`${p}service/c`, 'after the reload')).revision;
    await row(live).waitFor(WAIT);
    await page.locator('#audit-count', { hasText: '5 of 5 changes' }).waitFor(WAIT);

    // The export: one JSON object per line, every change that matches the filters.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-export')]);
    const lines = (await readFile((await download.path())!, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((e) => [e.revision, e.type, e.key]),
      [
        [r1, 'put', `${p}service/a`],
        [r2, 'put', `${p}service/a`],
        [r3, 'delete', `${p}service/a`],
        [away, 'put', `${p}service/b`],
        [live, 'put', `${p}service/c`],
      ],
    );
    assert.equal(lines[1].size, 12);
    assert.equal(lines[1].prevSize, 2);

    await page.locator('#audit-panel').scrollIntoViewIfNeeded();
    await shot(page, 'playground-audit');
    assert.deepEqual(await axeInBothThemes(page, '#audit-panel'), []);
    await page.click('#audit-stop');
    await page.locator('#audit-panel[data-recording="false"]').waitFor(WAIT);
    await revoke(suite.etcd.core, lease);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });
});
