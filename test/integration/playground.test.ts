// The README's main job: the playground dashboard against a local etcd, driven in Chromium.
// Screenshots go to test/artifacts/ (kept by CI, ignored by git).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd, op } from 'etcd-fetch';
import { authEnable, roleAdd, userAdd, userGrantRole } from 'etcd-fetch/admin';
import type { Page } from 'playwright-core';
import { type Playground, startPlayground } from '../../scripts/playground.ts';
import { launchChromium } from '../helpers/browser.ts';
import { uniquePrefix } from '../helpers/etcd.ts';
import {
  assertNoPageErrors,
  openPlayground as openIn,
  type PlaygroundContext,
  shot,
  startPlaygroundContext,
  treeFolder,
  treeKey,
  WAIT,
} from '../helpers/playground-page.ts';

let context: PlaygroundContext;
let playground: Playground;
let etcd: Etcd;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
const openPlayground = (prefix: string): Promise<Page> => openIn(context, prefix);

describe('playground', () => {
  before(async () => {
    context = await startPlaygroundContext();
    playground = context.playground;
    etcd = new Etcd({ endpoints: playground.etcdEndpoint });
  });
  after(async () => {
    await context?.close();
  });

  test('browses thousands of keys as a tree with no "more" clicks, with text, JSON and hex views', async () => {
    const p = uniquePrefix('playground-tree');
    const total = 3_000;
    for (let start = 0; start < total; start += 120) {
      const puts = [];
      for (let i = start; i < Math.min(start + 120, total); i++)
        puts.push(op.put(`${p}big/item-${String(i).padStart(5, '0')}`, `value ${i}`));
      await etcd
        .txn()
        .then(...puts)
        .commit();
    }
    await etcd.put(`${p}nested/a/b/c`, 'deep');
    await etcd.put(`${p}config.json`, '{"color":"blue","sizes":[1,2,3]}');
    await etcd.put(`${p}blob`, new Uint8Array([0, 1, 2, 0xfe, 0xff, 0x41]));

    const page = await openPlayground(p);
    await page.locator('#tree-count', { hasText: '3,003 keys' }).waitFor(WAIT);
    // The root shows two folders and two keys, not 3 003 rows; each folder shows how many keys it holds.
    await treeFolder(page, `${p}big/`).locator('.count', { hasText: '3,000' }).waitFor(WAIT);
    await treeFolder(page, `${p}nested/`).locator('.count', { hasText: '1' }).waitFor(WAIT);
    await treeKey(page, `${p}blob`).waitFor();
    assert.equal(await page.locator('#tree [aria-level="1"]').count(), 4);

    // Opened, the folder's last key is one End key away: no "more" button anywhere.
    await treeFolder(page, `${p}big/`).click();
    await treeKey(page, `${p}big/item-00000`).waitFor(WAIT);
    await page.keyboard.press('End');
    await treeKey(page, `${p}big/item-02999`).waitFor(WAIT);
    assert.equal(await page.locator('#tree', { hasText: 'more' }).count(), 0);
    // Only the rows in view are in the page.
    assert.ok((await page.locator('#tree [role="treeitem"]').count()) < 200);
    await page.keyboard.press('Home');
    await treeFolder(page, `${p}big/`).waitFor(WAIT);
    await page.keyboard.press('ArrowLeft'); // closes the open folder
    await treeFolder(page, `${p}big/`).and(page.locator('[aria-expanded="false"]')).waitFor(WAIT);

    await treeFolder(page, `${p}nested/`).click();
    await treeFolder(page, `${p}nested/a/`).click();
    await treeFolder(page, `${p}nested/a/b/`).click();
    await treeKey(page, `${p}nested/a/b/c`).click();
    await page.locator('#kv-key', { hasText: `${p}nested/a/b/c` }).waitFor(WAIT);
    await page.locator('#kv-view', { hasText: 'deep' }).waitFor();

    await treeKey(page, `${p}config.json`).click();
    await page.locator('#kv-view[data-view="json"]', { hasText: '"sizes": [' }).waitFor(WAIT);
    await page.locator('#kv-meta dd[data-field="version"]', { hasText: '1' }).waitFor();
    // The edit box holds the JSON pretty-printed too.
    assert.match(await page.inputValue('#kv-value'), /\n {2}"color": "blue"/);
    await page.click('#view-text');
    await page.locator('#kv-view[data-view="text"]', { hasText: '{"color":"blue","sizes":[1,2,3]}' }).waitFor();
    await page.click('#view-json');
    await shot(page, 'playground-tree-json');

    await treeKey(page, `${p}blob`).click();
    await page.locator('#kv-view[data-view="hex"]', { hasText: '00 01 02 fe ff 41' }).waitFor(WAIT);
    assert.equal(await page.locator('#view-text').isDisabled(), true);
    await shot(page, 'playground-tree-hex');
    // The Hex view a binary key forced does not stick to the next key.
    await treeKey(page, `${p}config.json`).click();
    await page.locator('#kv-view[data-view="json"]').waitFor(WAIT);
    assertNoPageErrors(page);
    await page.close();
    await etcd.del({ prefix: p });
  });

  test('creates a key, sees it in the tree, edits it, deletes it after a confirmation, and runs a txn', async () => {
    const p = uniquePrefix('playground-edit');
    await etcd.put(`${p}seeded`, 'from another client');
    const page = await openPlayground(p);
    await treeKey(page, `${p}seeded`).waitFor(WAIT);

    // Create.
    await page.fill('#put-key', `${p}app/color`);
    await page.fill('#put-value', 'blue');
    await page.click('#put-form button');
    await page.locator('#put-message.ok', { hasText: 'put' }).waitFor(WAIT);
    assert.equal((await etcd.get(`${p}app/color`))?.valueText, 'blue');
    assert.equal(await page.inputValue('#put-key'), '', 'the put form is cleared');
    await treeFolder(page, `${p}app/`).waitFor(WAIT);
    await treeFolder(page, `${p}app/`).click();
    await treeKey(page, `${p}app/color`).waitFor(WAIT);
    await page.locator('#kv-view', { hasText: 'blue' }).waitFor(WAIT);

    // Edit (a compare-and-swap on the mod revision shown).
    await page.fill('#kv-value', 'green');
    await page.click('#kv-save');
    await page.locator('#kv-message.ok', { hasText: 'saved at revision' }).waitFor(WAIT);
    assert.equal((await etcd.get(`${p}app/color`))?.valueText, 'green');
    await page.locator('#kv-meta dd[data-field="version"]', { hasText: '2' }).waitFor(WAIT);

    // A write by someone else while the user edits: the save is refused, the user's text kept.
    await page.fill('#kv-value', 'purple');
    await etcd.put(`${p}app/color`, 'red');
    await page.click('#kv-save');
    await page.locator('#kv-message.error', { hasText: 'not saved' }).waitFor(WAIT);
    assert.equal((await etcd.get(`${p}app/color`))?.valueText, 'red');
    assert.equal(await page.inputValue('#kv-value'), 'purple');

    // Delete: cancelled once, then confirmed.
    await page.click('#kv-delete');
    await page.locator('#confirm[open]').waitFor(WAIT);
    await shot(page, 'playground-confirm-delete');
    await page.click('#confirm button[value="cancel"]');
    assert.equal((await etcd.get(`${p}app/color`))?.valueText, 'red');
    await page.click('#kv-delete');
    await page.click('#confirm-ok');
    await page.locator('#kv-detail[data-state="deleted"]').waitFor(WAIT);
    await treeKey(page, `${p}app/color`).waitFor({ state: 'detached', ...WAIT });
    await treeFolder(page, `${p}app/`).waitFor({ state: 'detached', ...WAIT });
    assert.equal(await etcd.get(`${p}app/color`), undefined);

    // A bad operand: the error shows in the txn panel (not the header), and goes after a success.
    const counter = `${p}counter`;
    await page.locator('#txn-form input[aria-label="compare operand"]').fill('zero');
    await page.click('#txn-commit');
    await page.locator('#txn-message.error', { hasText: 'whole number' }).waitFor(WAIT);
    await page.locator('#status.ok').waitFor();
    await page.locator('#txn-form input[aria-label="compare operand"]').fill('0');
    // A txn: create the counter only if it does not exist; the second run takes the else branch.
    for (const row of await page.locator('#txn-form input[aria-label$="key"]').all()) await row.fill(counter);
    await page.click('#txn-commit');
    await page.locator('#txn-result[data-succeeded="true"]', { hasText: 'put → revision' }).waitFor(WAIT);
    assert.equal(await page.locator('#txn-message.error').count(), 0);
    assert.equal((await etcd.get(counter))?.valueText, '1');
    await treeKey(page, counter).waitFor(WAIT);
    await page.click('#txn-commit');
    await page.locator('#txn-result[data-succeeded="false"]', { hasText: '"1"' }).waitFor(WAIT);
    await shot(page, 'playground-txn', true);
    await page.close();
    await etcd.del({ prefix: p });
  });

  test("a live watch streams another client's writes with their revision, updates the tree and the value shown, and resumes after etcd restarts", async () => {
    const p = uniquePrefix('playground-watch');
    await etcd.put(`${p}first`, 'one');
    const page = await openPlayground(p);
    await treeKey(page, `${p}first`).waitFor(WAIT);
    await page.locator('#watch-panel[data-state="watching"]').waitFor(WAIT);
    assert.equal(await page.inputValue('#watch-prefix'), p);

    const { revision } = await etcd.put(`${p}live`, 'v1');
    await page
      .locator(`#watch-events li[data-key="${p}live"][data-revision="${revision}"]`, { hasText: 'v1' })
      .waitFor(WAIT);
    await treeKey(page, `${p}live`).waitFor(WAIT);

    await treeKey(page, `${p}live`).click();
    await page.locator('#kv-view', { hasText: 'v1' }).waitFor(WAIT);
    await etcd.put(`${p}live`, 'v2 written elsewhere');
    await page.locator('#kv-view', { hasText: 'v2 written elsewhere' }).waitFor(WAIT);
    await page.locator('#kv-meta dd[data-field="version"]', { hasText: '2' }).waitFor(WAIT);

    await etcd.del(`${p}first`);
    await page.locator(`#watch-events li.delete[data-key="${p}first"]`).waitFor(WAIT);
    await treeKey(page, `${p}first`).waitFor({ state: 'detached', ...WAIT });

    // etcd goes away and comes back: the watch resumes by itself, and sees later writes.
    await playground.etcd!.kill();
    await page.locator('#watch-panel[data-state="pending"]').waitFor(WAIT);
    await shot(page, 'playground-watch-reconnecting');
    await playground.etcd!.restart();
    await page.locator('#watch-panel[data-state="watching"]').waitFor(WAIT);
    const after = await etcd.put(`${p}after-restart`, 'still watching');
    await page
      .locator(`#watch-events li[data-key="${p}after-restart"][data-revision="${after.revision}"]`)
      .waitFor(WAIT);
    await treeKey(page, `${p}after-restart`).waitFor(WAIT);
    await shot(page, 'playground-watch');

    // A replay from a past revision starts a new list: no event of the old watch stays.
    await page.fill('#watch-from', String(revision));
    await page.click('#watch-form button[type="submit"]');
    await page
      .locator(`#watch-events li[data-key="${p}live"][data-revision="${revision}"]`, { hasText: 'v1' })
      .waitFor(WAIT);
    await page.locator(`#watch-events li[data-key="${p}after-restart"]`).waitFor(WAIT);
    const revisions = await page
      .locator('#watch-events li')
      .evaluateAll((rows) => rows.map((row) => Number((row as HTMLElement).dataset.revision)));
    assert.deepEqual(
      revisions,
      [...revisions].sort((a, b) => b - a),
      'newest first, one watch',
    );
    assert.equal(new Set(revisions).size, revisions.length);
    assertNoPageErrors(page);
    await page.close();
    await etcd.del({ prefix: p });
  });

  test('connects to an endpoint list, reading through a live member when the first is down', async () => {
    const p = uniquePrefix('playground-endpoints');
    await etcd.put(`${p}here`, 'yes');
    const page = await openPlayground(p);
    await page.fill('#endpoints', `http://127.0.0.1:9, ${playground.etcdEndpoint}`);
    await page.click('#connect button');
    await page
      .locator('#status.ok', { hasText: `connected to http://127.0.0.1:9, ${playground.etcdEndpoint}` })
      .waitFor(WAIT);
    await treeKey(page, `${p}here`).waitFor(WAIT);
    await page.close();
    await etcd.del({ prefix: p });
  });

  test('shows cluster status and leases whose TTL counts down; a put attaches a lease; revoke deletes its keys', async () => {
    const p = uniquePrefix('playground-lease');
    const page = await openPlayground(p);
    await page.locator('#members tr[data-member="etcd-fetch"]', { hasText: '★' }).waitFor(WAIT);
    await page.locator('#cluster-summary', { hasText: 'leader etcd-fetch' }).waitFor(WAIT);
    await page.locator('#cluster-summary', { hasText: 'DB' }).waitFor(WAIT);

    await page.fill('#grant-ttl', '30');
    await page.click('#grant button');
    await page.locator('#lease-message.ok', { hasText: 'granted lease' }).waitFor(WAIT);
    const row = page.locator('#leases tbody tr[data-lease]');
    await row.waitFor(WAIT);
    const id = (await row.getAttribute('data-lease'))!;
    // The TTL shown goes down by itself (bounded wait, no timing assertion).
    await page.waitForFunction(
      (id) => {
        const ttl = document.querySelector(`#leases tr[data-lease="${id}"] .ttl`)?.textContent ?? '';
        return Number.parseInt(ttl, 10) < 30;
      },
      id,
      WAIT,
    );

    await page.fill('#put-key', `${p}session`);
    await page.fill('#put-value', 'alive');
    await page.selectOption('#put-lease', id);
    await page.click('#put-form button');
    await page.locator('#put-message.ok').waitFor(WAIT);
    assert.equal((await etcd.get(`${p}session`))?.lease, id);
    await page.locator('#kv-meta dd[data-field="lease"]', { hasText: id }).waitFor(WAIT);
    await page.locator(`#leases tr[data-lease="${id}"] td:nth-child(4)`, { hasText: '1' }).waitFor(WAIT);
    await shot(page, 'playground-cluster-leases');

    await page.locator(`#leases tr[data-lease="${id}"] button`).click();
    await page.locator('#lease-message.ok', { hasText: 'revoked' }).waitFor(WAIT);
    await page.locator(`#leases tr[data-lease="${id}"]`).waitFor({ state: 'detached', ...WAIT });
    assert.equal(await etcd.get(`${p}session`), undefined);
    await page.close();
  });
});

describe('playground with auth enabled', () => {
  let secured: Playground;
  before(async () => {
    secured = await startPlayground();
    const admin = new Etcd({ endpoints: secured.etcdEndpoint });
    await userAdd(admin, 'root', 'root-password');
    await roleAdd(admin, 'root');
    await userGrantRole(admin, 'root', 'root');
    await authEnable(admin);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await secured?.close();
  });

  test('asks for a login, refuses a wrong password, then works as the user who logged in', async () => {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(secured.url);
    await page.locator('#status.error', { hasText: 'log in' }).waitFor(WAIT);

    await page.fill('#username', 'root');
    await page.fill('#password', 'wrong');
    await page.click('#connect button');
    await page.locator('#status.error', { hasText: 'authentication failed' }).waitFor(WAIT);

    await page.fill('#password', 'root-password');
    await page.click('#connect button');
    await page.locator('#status.ok', { hasText: 'as root' }).waitFor(WAIT);
    await page.fill('#put-key', 'secured/greeting');
    await page.fill('#put-value', 'hello');
    await page.click('#put-form button');
    await page.locator('#put-message.ok').waitFor(WAIT);
    await page.locator('#tree [data-prefix="secured/"]').waitFor(WAIT);
    const user = new Etcd({ endpoints: secured.etcdEndpoint, auth: { username: 'root', password: 'root-password' } });
    assert.equal((await user.get('secured/greeting'))?.valueText, 'hello');
    // The watch runs with the user's token too.
    await page.locator('#watch-panel[data-state="watching"]').waitFor(WAIT);
    const { revision } = await user.put('secured/from-elsewhere', 'seen');
    await page
      .locator(`#watch-events li[data-key="secured/from-elsewhere"][data-revision="${revision}"]`)
      .waitFor(WAIT);
    await page.locator('#tree-count', { hasText: '2 keys' }).waitFor(WAIT);
    await shot(page, 'playground-auth');
    await page.close();
  });
});
