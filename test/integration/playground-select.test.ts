// Multi-select and bookmarks in the playground, in Chromium against a real etcd: keys and folders
// picked with Ctrl-click, Shift-click and the keyboard, exported, deleted in txns of at most 100
// operations after a preview and a confirmation (refused when a pick changed since the preview);
// bookmarks of keys and folders kept per saved connection; axe-core in light and dark.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { op } from 'etcd-fetch';
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

describe('playground multi-select and bookmarks', () => {
  const suite = usePlayground();

  test('picks keys and folders with the mouse and the keyboard, exports them, deletes them in txns of at most 100 after a preview', async () => {
    const p = uniquePrefix('pg-select');
    const puts = [];
    for (let i = 0; i < 250; i++) puts.push(op.put(`${p}many/k${String(i).padStart(3, '0')}`, `v${i}`));
    for (let i = 0; i < puts.length; i += 100)
      await suite.etcd
        .txn()
        .then(...puts.slice(i, i + 100))
        .commit();
    await suite.etcd.put(`${p}gone/y1`, '1');
    await suite.etcd.put(`${p}gone/y2`, '2');
    await suite.etcd.put(`${p}keep/x`, 'x');
    await suite.etcd.put(`${p}solo`, 's');
    const page = await openPlayground(suite.context, p);
    await treeFolder(page, `${p}gone/`).waitFor(WAIT);

    // Ctrl-click a folder and a key.
    await treeFolder(page, `${p}gone/`).click({ modifiers: ['Control'] });
    await treeKey(page, `${p}solo`).click({ modifiers: ['Control'] });
    await page.locator('#pick-count', { hasText: '1 key and 1 folder picked' }).waitFor(WAIT);
    assert.equal(await treeFolder(page, `${p}gone/`).getAttribute('aria-checked'), 'true');
    assert.equal(await treeFolder(page, `${p}keep/`).getAttribute('aria-checked'), 'false');
    assert.equal(await page.getAttribute('#tree', 'aria-multiselectable'), 'true');
    assert.equal(await page.locator('#kv-detail').isHidden(), true, 'a Ctrl-click does not open the key');

    // Export: the picked keys, the folder's whole.
    const download = page.waitForEvent('download');
    await page.click('#pick-export');
    const exported = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
    assert.deepEqual(
      exported.kvs.map((e: { key: string }) => e.key),
      [`${p}gone/y1`, `${p}gone/y2`, `${p}solo`],
    );
    await page.locator('#tree-panel').screenshot({ path: artifact('playground-multi-select.png') });
    const failures = await axeInBothThemes(page, '#tree-panel');

    // Delete: a preview first, then a confirmation.
    await page.click('#pick-delete');
    await page.locator('#pick-message', { hasText: '3 key(s) in 2 pick(s), deleted in 1 txn' }).waitFor(WAIT);
    await page.locator('#pick-preview li[data-kind="folder"]', { hasText: 'folder, 2 keys' }).waitFor();
    await page.click('#pick-delete');
    await page.locator('#confirm-message', { hasText: 'Delete 3 key(s) in 2 pick(s)?' }).waitFor(WAIT);
    await page.click('#confirm-ok');
    await page.locator('#pick-message', { hasText: 'deleted 3 key(s) in 1 txn(s)' }).waitFor(WAIT);
    assert.equal(await suite.etcd.count({ prefix: `${p}gone/` }), 0);
    assert.equal(await suite.etcd.get(`${p}solo`), undefined);
    assert.equal(await suite.etcd.count({ prefix: p }), 251);
    await treeKey(page, `${p}solo`).waitFor({ state: 'detached', ...WAIT });
    assert.equal(await page.locator('#pick-bar').isHidden(), true);

    // The keyboard: Ctrl+Space picks, Shift+ArrowDown extends, Escape lets go.
    await treeFolder(page, `${p}many/`).click();
    await treeKey(page, `${p}many/k000`).click();
    await page.locator('#tree').focus();
    await page.keyboard.press('Control+Space');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await page.locator('#pick-count', { hasText: '3 keys and 0 folders picked' }).waitFor(WAIT);
    assert.equal(await treeKey(page, `${p}many/k002`).getAttribute('aria-checked'), 'true');
    await page.keyboard.press('Escape');
    await page.locator('#pick-bar').waitFor({ state: 'hidden', ...WAIT });

    // Shift-click picks a run: 250 keys, deleted in 3 txns of at most 100 operations.
    await treeKey(page, `${p}many/k000`).click();
    await page.keyboard.press('End');
    await treeKey(page, `${p}many/k249`).click({ modifiers: ['Shift'] });
    await page.locator('#pick-count', { hasText: '250 keys and 0 folders picked' }).waitFor(WAIT);
    await page.click('#pick-delete');
    await page.locator('#pick-message', { hasText: '250 key(s) in 250 pick(s), deleted in 3 txns' }).waitFor(WAIT);
    await page.click('#pick-delete');
    await page.click('#confirm-ok');
    await page.locator('#pick-message', { hasText: 'deleted 250 key(s) in 3 txn(s)' }).waitFor(WAIT);
    assert.equal(await suite.etcd.count({ prefix: `${p}many/` }), 0);

    // A folder written to after the preview: the delete is refused, nothing is deleted.
    await treeFolder(page, `${p}keep/`).click({ modifiers: ['Control'] });
    await page.click('#pick-delete');
    await page.locator('#pick-message', { hasText: '1 key(s) in 1 pick(s)' }).waitFor(WAIT);
    await suite.etcd.put(`${p}keep/new`, 'written after the preview');
    await page.click('#pick-delete');
    await page.click('#confirm-ok');
    await page.locator('#pick-message.error', { hasText: 'changed since the preview' }).waitFor(WAIT);
    assert.equal(await suite.etcd.count({ prefix: `${p}keep/` }), 2);
    assert.deepEqual(failures, []);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('bookmarks of folders and keys are kept per saved connection and open what they name', async () => {
    const p = uniquePrefix('pg-bookmarks');
    await suite.etcd.put(`${p}app/config`, '{"color":"blue"}');
    await suite.etcd.put(`${p}db/url`, 'postgres://');
    const page = await openPlayground(suite.context, p);
    // Two saved connections to the same etcd.
    for (const name of ['alpha', 'beta']) {
      await page.click('#connections summary');
      await page.fill('#profile-name', name);
      await page.click('#profile-save');
      await page.locator('#profile-message', { hasText: `saved “${name}”` }).waitFor(WAIT);
      await page.click('#connections summary');
    }
    const use = async (name: string) => {
      await page.click('#connections summary');
      await page.selectOption('#profile', name);
      await page.locator('#bookmark-owner', { hasText: `“${name}”` }).waitFor(WAIT);
      await page.click('#connections summary');
    };
    await use('alpha');
    await page.locator('#bookmark-empty').waitFor(WAIT);
    // A folder and a key, under alpha.
    await page.fill('#prefix', `${p}app/`);
    await page.click('#tree-form button');
    await treeKey(page, `${p}app/config`).click();
    await page.click('#bookmark-folder');
    await page.click('#bookmark-key');
    await page.locator('#bookmark-list li').nth(1).waitFor(WAIT);
    // Beta has its own.
    await use('beta');
    await page.locator('#bookmark-empty').waitFor(WAIT);
    assert.equal(await page.locator('#bookmark-list li').count(), 0);
    await page.fill('#prefix', `${p}db/`);
    await page.click('#tree-form button');
    await page.click('#bookmark-folder');
    await page.locator(`#bookmark-list li[data-key="${p}db/"]`).waitFor(WAIT);
    // Back to alpha, after a reload: its two bookmarks.
    await page.reload();
    await page.locator('#status.ok').waitFor(WAIT);
    await use('alpha');
    assert.deepEqual(
      await page.locator('#bookmark-list li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-key'))),
      [`${p}app/`, `${p}app/config`],
    );
    await page.locator('#bookmarks').screenshot({ path: artifact('playground-bookmarks.png') });
    // A folder bookmark browses it; a key bookmark opens the key.
    await page.fill('#prefix', '');
    await page.click('#tree-form button');
    await page.locator(`#bookmark-list li[data-kind="folder"] button.link`).click();
    await treeKey(page, `${p}app/config`).waitFor(WAIT);
    assert.equal(await page.inputValue('#prefix'), `${p}app/`);
    await page.locator(`#bookmark-list li[data-kind="key"] button.link`).click();
    await page.locator('#kv-key', { hasText: `${p}app/config` }).waitFor(WAIT);
    // Removed, and gone after a reload.
    await page.locator(`#bookmark-list li[data-kind="key"] button.remove`).click();
    assert.equal(await page.locator('#bookmark-list li').count(), 1);
    const failures = await axeInBothThemes(page, '#bookmarks');
    assert.deepEqual(failures, []);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });
});
