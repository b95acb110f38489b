// The playground's find panel in Chromium against a real etcd: text and regex search over the
// values (and key names) of a 30 000-key prefix, matches paged 50 at a time, a Stop that
// cancels the scan, a match that opens its key, and axe-core on the panel in light and dark.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { op } from 'etcd-fetch';
import { uniquePrefix } from '../helpers/etcd.ts';
import { artifact, assertNoPageErrors, openPlayground, usePlayground, WAIT } from '../helpers/playground-page.ts';
import { axeInBothThemes } from '../helpers/playground-themes.ts';

const KEYS = 30_000;

describe('playground find panel', () => {
  const suite = usePlayground();

  test('finds text and regex matches in the values and names of 30 000 keys, pages them, stops on demand, opens a match', async () => {
    const p = uniquePrefix('pg-find');
    const value = (i: number) =>
      JSON.stringify({ id: i, color: i % 1_000 === 7 ? `Needle-Red-${i}` : i % 1_500 === 9 ? 'needle-green' : 'blue' });
    for (let start = 0; start < KEYS; start += 120) {
      const puts = [];
      for (let i = start; i < Math.min(start + 120, KEYS); i++)
        puts.push(op.put(`${p}k${String(i).padStart(5, '0')}`, value(i)));
      await suite.etcd
        .txn()
        .then(...puts)
        .commit();
    }
    const page = await openPlayground(suite.context, p);
    const panel = page.locator('#find-panel');
    await panel.scrollIntoViewIfNeeded();
    assert.equal(await page.inputValue('#find-prefix'), p, 'the prefix follows the tree');
    const find = async (query: string, options: { regex?: boolean; matchCase?: boolean; where?: string } = {}) => {
      await page.fill('#find-query', query);
      await page.setChecked('#find-regex', options.regex ?? false);
      await page.setChecked('#find-case', options.matchCase ?? false);
      await page.selectOption('#find-in', options.where ?? 'values');
      await page.click('#find-form button[type="submit"]');
      await page.locator('#find-panel[data-state="done"]').waitFor(WAIT);
      await page.locator('#find-message', { hasText: /at revision/ }).waitFor(WAIT);
      return (await page.textContent('#find-message')) ?? '';
    };

    // Text, any case: 30 red needles in the values of 30 000 keys.
    const red = await find('needle-red');
    assert.match(red, /^30 matches in 30,000 keys/);
    console.log(`  value search over ${KEYS} keys: ${red}`);
    assert.equal(await page.locator('#find-results li').count(), 30);
    await page.locator('#find-results li[data-key$="k00007"] mark', { hasText: 'Needle-Red' }).waitFor();
    assert.equal(await page.locator('#find-paging').isHidden(), true);
    // Matching case: none are lower case.
    assert.match(await find('needle-red', { matchCase: true }), /^0 matches in 30,000 keys/);
    // A regex: red or green needles (20 green: every 1 500th key).
    assert.match(await find('needle-(red|green)', { regex: true }), /^50 matches in 30,000 keys/);
    // A bad regex says why.
    await page.fill('#find-query', 'needle-(');
    await page.click('#find-form button[type="submit"]');
    await page.locator('#find-message.error', { hasText: 'not a regular expression' }).waitFor(WAIT);
    // Key names only: k2999x.
    assert.match(await find('k2999\\d$', { regex: true, where: 'keys' }), /^10 matches in 30,000 keys/);
    await page.locator('#find-results li[data-in="key"]', { hasText: 'k29995' }).waitFor();

    // Many matches: 50 to a page.
    const blue = await find('"color":"blue"');
    assert.match(blue, /^29,950 matches in 30,000 keys.*the first 10,000 listed/);
    assert.equal(await page.locator('#find-results li').count(), 50);
    await page.locator('#find-page', { hasText: 'page 1 of 200' }).waitFor();
    await page.click('#find-next');
    await page.locator('#find-page', { hasText: 'page 2 of 200' }).waitFor();
    assert.equal(await page.locator('#find-results li').first().getAttribute('data-key'), `${p}k00052`);
    await page.screenshot({ path: artifact('playground-find.png') });
    await panel.screenshot({ path: artifact('playground-find-panel.png') });

    // Stop: the scan ends where it was, short of the whole prefix.
    await page.fill('#find-query', 'nothing matches this');
    await page.click('#find-form button[type="submit"]');
    await page.click('#find-stop');
    await page.locator('#find-panel[data-state="stopped"]').waitFor(WAIT);
    const stopped = (await page.textContent('#find-message')) ?? '';
    const scanned = Number(/first ([\d,]+) keys/.exec(stopped)?.[1]?.replaceAll(',', ''));
    assert.ok(scanned < KEYS, `stopped after ${scanned} keys: ${stopped}`);
    await page.waitForTimeout(500);
    assert.equal(await page.getAttribute('#find-panel', 'data-state'), 'stopped', 'nothing more is read after Stop');

    // A match opens its key in the editor.
    await find('needle-green');
    await page.locator('#find-results li button.link').first().click();
    await page.locator('#kv-key', { hasText: `${p}k00009` }).waitFor(WAIT);

    // axe-core on the panel, in light and dark.
    const failures = await axeInBothThemes(page, '#find-panel');
    await page.evaluate(() => {
      document.documentElement.dataset.theme = 'dark';
    });
    await panel.screenshot({ path: artifact('playground-find-dark.png') });
    assert.deepEqual(failures, []);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });
});
