// The playground with large values, in Chromium against a real etcd: a folder of 24 MiB of values
// opens, is searched and exported in reads that each stay below etcd 3.4/3.5's 4 MiB gateway
// limit (measured on the wire), and a value over 1 MiB is shown cut, with a download of all of it.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { uniquePrefix } from '../helpers/etcd.ts';
import {
  artifact,
  assertNoPageErrors,
  openPlayground,
  treeFolder,
  treeKey,
  usePlayground,
  WAIT,
} from '../helpers/playground-page.ts';
import { axeInBothThemes } from '../helpers/playground-themes.ts';

const MIB = 1024 * 1024;
const GATEWAY_LIMIT = 4 * MIB;
// Enough to need many pages when each is bounded by bytes (a page holds at most 3 MiB of values).
const VALUES = 24;

describe('playground large answers', () => {
  const suite = usePlayground();

  test('a folder of 24 MiB of values opens, is searched and exported in reads below 4 MiB; a 1.2 MiB value is cut with a download', async () => {
    const p = uniquePrefix('pg-large');
    for (let i = 0; i < VALUES; i++) {
      const fill = String.fromCharCode(97 + (i % 26)).repeat(MIB - 16);
      await suite.etcd.put(`${p}big/v${String(i).padStart(2, '0')}`, `${i === 17 ? 'NEEDLE' : 'start-'}${fill}`);
    }
    const large = `{"big":"${'x'.repeat(1.2 * MIB)}"}`;
    await suite.etcd.put(`${p}one-large`, large);
    await suite.etcd.put(`${p}half`, 'h'.repeat(MIB / 2));

    const page = await openPlayground(suite.context, p);
    const ranges: number[] = [];
    page.on('response', async (response) => {
      if (!response.url().endsWith('/v3/kv/range')) return;
      ranges.push((await response.body().catch(() => Buffer.alloc(0))).length);
    });

    // The folder opens: its keys are listed.
    await treeFolder(page, `${p}big/`)
      .locator('.count', { hasText: new RegExp(`^${VALUES}$`) })
      .waitFor(WAIT);
    await treeFolder(page, `${p}big/`).click();
    await treeKey(page, `${p}big/v${VALUES - 1}`).waitFor(WAIT);

    // A value search reads every value, in pages bounded by bytes.
    ranges.length = 0;
    await page.locator('#find-panel').scrollIntoViewIfNeeded();
    await page.fill('#find-query', 'needle');
    await page.click('#find-form button[type="submit"]');
    await page.locator('#find-panel[data-state="done"]').waitFor({ timeout: 60_000 });
    const found = (await page.textContent('#find-message')) ?? '';
    assert.match(found, /^1 match in 26 keys \(25\.\d MiB in \d+ pages, largest 2\.\d MiB\)/);
    await page.locator('#find-results li[data-key$="big/v17"]').waitFor();
    const read = ranges.reduce((a, b) => a + b, 0);
    console.log(
      `  search: ${ranges.length} range answers, largest ${(Math.max(...ranges) / MIB).toFixed(2)} MiB, ${(read / MIB).toFixed(1)} MiB of JSON in all (${found})`,
    );
    assert.ok(ranges.length >= VALUES / 2, `${ranges.length} range answers`);
    assert.ok(Math.max(...ranges) < GATEWAY_LIMIT, `largest answer ${Math.max(...ranges)} bytes`);
    assert.ok(read > VALUES * MIB, `${read} bytes read`);

    // The export reads the same way, and holds every value whole.
    ranges.length = 0;
    await page.fill('#io-prefix', p);
    const download = page.waitForEvent('download', { timeout: 60_000 });
    await page.click('#export-form button');
    const file = await (await download).path();
    await page.locator('#io-message', { hasText: 'exported 26 key(s)' }).waitFor({ timeout: 60_000 });
    const exported = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(exported.kvs.length, 26);
    assert.equal(exported.kvs.find((e: { key: string }) => e.key === `${p}one-large`).value, large);
    console.log(`  export: ${ranges.length} range answers, largest ${(Math.max(...ranges) / MIB).toFixed(2)} MiB`);
    assert.ok(Math.max(...ranges) < GATEWAY_LIMIT, `largest answer ${Math.max(...ranges)} bytes`);

    // A value over 1 MiB: cut, not editable, downloadable whole.
    await treeKey(page, `${p}one-large`).click();
    await page.locator('#kv-large', { hasText: 'This value is 1.2 MiB: the first 256.0 KiB are shown' }).waitFor(WAIT);
    const shown = (await page.textContent('#kv-view')) ?? '';
    assert.ok(shown.length < 300 * 1024 && shown.startsWith('{"big":"xxx'), `${shown.length} characters shown`);
    const tail = shown.slice(-40);
    assert.match(tail, /… \([\d.]+ KiB more\)$/);
    assert.equal(await page.isDisabled('#kv-value'), true);
    const whole = page.waitForEvent('download');
    await page.click('#kv-download');
    const saved = await (await whole).path();
    assert.equal(statSync(saved).size, Buffer.byteLength(large));
    assert.equal(readFileSync(saved, 'utf8'), large);
    await page.locator('#editor').screenshot({ path: artifact('playground-large-value.png') });
    const failures = await axeInBothThemes(page, '#kv-detail');
    assert.deepEqual(failures, []);

    // Half a MiB is shown whole and can be edited.
    await treeKey(page, `${p}half`).click();
    await page.locator('#kv-meta dd[data-field="size"]', { hasText: '512.0 KiB' }).waitFor(WAIT);
    assert.equal(await page.isHidden('#kv-large'), true);
    assert.equal(await page.isDisabled('#kv-value'), false);
    assert.equal((await page.inputValue('#kv-value')).length, MIB / 2);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });
});
