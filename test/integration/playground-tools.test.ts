// The playground's tools, in Chromium against a real etcd: key history with diffs, restore and
// the compaction point; import/export; users and roles; maintenance; saved connections and
// relay mode; dark mode, the 390 px layout, and axe-core on every panel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { alarmList, defragment, roleGet } from 'etcd-fetch/admin';
import { uniquePrefix } from '../helpers/etcd.ts';
import {
  artifact,
  assertNoPageErrors,
  axeViolations,
  openPlayground,
  type PlaygroundContext,
  shot,
  startPlaygroundContext,
  treeKey,
  usePlayground,
  WAIT,
} from '../helpers/playground-page.ts';

describe('playground tools', () => {
  const suite = usePlayground();

  test('key history: every version with a diff, a restore by compare-and-swap, and where compaction cut it', async () => {
    const p = uniquePrefix('pg-history');
    const key = `${p}config`;
    await suite.etcd.put(key, '{"color":"red","size":1}');
    await suite.etcd.put(key, '{"color":"blue","size":1}');
    await suite.etcd.put(key, '{"color":"blue","size":2}');
    const page = await openPlayground(suite.context, p);
    await treeKey(page, key).click();
    await page.click('#history-load');
    await page.locator('#history-list li[data-version="1"]').waitFor(WAIT);
    assert.equal(await page.locator('#history-list li[data-version]').count(), 3);
    await page.locator('#history-message', { hasText: 'since its creation' }).waitFor();
    await page.locator('#history-list li[data-version="2"] .del', { hasText: '"color": "red"' }).waitFor();
    await page.locator('#history-list li[data-version="2"] .add', { hasText: '"color": "blue"' }).waitFor();
    await page.locator('#history').screenshot({ path: artifact('playground-history.png') });

    // Restore version 1: a new version 4 with its value.
    await page.locator('#history-list li[data-version="1"] button.restore').click();
    await page.click('#confirm-ok');
    await page.locator('#history-message.ok', { hasText: 'restored version 1 as version 4' }).waitFor(WAIT);
    assert.equal((await suite.etcd.get(key))?.valueText, '{"color":"red","size":1}');

    // Compaction cuts the history: the page says where.
    const { revision } = await suite.etcd.put(key, '{"color":"green","size":1}');
    await suite.etcd.compact(revision - 1);
    await page.click('#history-load');
    await page
      .locator('#history-message', { hasText: `compacted its history at revision ${revision - 1}` })
      .waitFor(WAIT);
    await page.locator('#history-list li.compacted').waitFor();
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('export then import a prefix: a preview of the changes, and an import that refuses keys changed since the preview', async () => {
    const p = uniquePrefix('pg-io');
    await suite.etcd.put(`${p}a`, 'one');
    await suite.etcd.put(`${p}bin`, new Uint8Array([0, 0xff, 7]));
    const page = await openPlayground(suite.context, p);
    await page.fill('#io-prefix', p);
    const download = page.waitForEvent('download');
    await page.click('#export-form button');
    const file = await (await download).path();
    const exported = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(exported.kvs.length, 2);
    assert.deepEqual(
      exported.kvs.find((e: { key: string }) => e.key === `${p}bin`),
      { key: `${p}bin`, valueBase64: 'AP8H' },
    );

    const doc = {
      format: 'etcd-playground/1',
      kvs: [
        { key: `${p}a`, value: 'ONE' },
        { key: `${p}new`, value: 'fresh' },
        { key: `${p}bin`, valueBase64: 'AP8H' },
      ],
    };
    await page.fill('#import-text', JSON.stringify(doc));
    await page.click('#import-form button[type="submit"]');
    await page.locator('#io-message', { hasText: '1 to create, 1 to change, 1 unchanged' }).waitFor(WAIT);
    await page.locator(`#import-preview tr.update[data-key="${p}a"]`).waitFor();
    await page.locator('#io-panel').screenshot({ path: artifact('playground-import-preview.png') });
    // Someone writes a previewed key: the import refuses and writes nothing.
    await suite.etcd.put(`${p}a`, 'changed meanwhile');
    await page.click('#import-apply');
    await page.locator('#io-message.error', { hasText: 'changed since the preview' }).waitFor(WAIT);
    assert.equal(await suite.etcd.get(`${p}new`), undefined);
    // Preview again, then import.
    await page.click('#import-form button[type="submit"]');
    await page.locator('#io-message', { hasText: '1 to create, 1 to change' }).waitFor(WAIT);
    await page.click('#import-apply');
    await page.locator('#io-message.ok', { hasText: 'imported 2 key(s)' }).waitFor(WAIT);
    assert.equal((await suite.etcd.get(`${p}a`))?.valueText, 'ONE');
    assert.equal((await suite.etcd.get(`${p}new`))?.valueText, 'fresh');
    await treeKey(page, `${p}new`).waitFor(WAIT);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('an import of large values goes in txns under the request limit of etcd: 3 values of 700 KB, 2.1 MB together', async () => {
    const p = uniquePrefix('pg-io-large');
    const value = (letter: string) => letter.repeat(700_000);
    const page = await openPlayground(suite.context, p);
    const doc = {
      format: 'etcd-playground/1',
      kvs: ['a', 'b', 'c'].map((k) => ({ key: `${p}${k}`, value: value(k) })),
    };
    await page.fill('#import-text', JSON.stringify(doc));
    await page.click('#import-form button[type="submit"]');
    await page.locator('#io-message', { hasText: '3 to create' }).waitFor(WAIT);
    await page.click('#import-apply');
    await page.locator('#io-message.ok', { hasText: 'imported 3 key(s)' }).waitFor(WAIT);
    for (const k of ['a', 'b', 'c']) assert.equal((await suite.etcd.get(`${p}${k}`))?.valueText, value(k));
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('maintenance: alarms, compaction after a confirmation, defragmentation, snapshot download', async () => {
    const page = await openPlayground(suite.context, '');
    await page.locator('#alarm-list', { hasText: 'none' }).waitFor(WAIT);
    const { revision } = await suite.etcd.put('pg-maintenance', 'x');
    await page.fill('#compact-revision', String(revision));
    await page.click('#compact-form button');
    await page.locator('#confirm[open]', { hasText: 'key history before it is gone' }).waitFor(WAIT);
    await page.click('#confirm-ok');
    await page.locator('#maintenance-message.ok', { hasText: `compacted to revision ${revision}` }).waitFor(WAIT);
    await page.locator('#members button', { hasText: 'Defragment' }).click();
    await page.click('#confirm-ok');
    await page.locator('#maintenance-message.ok', { hasText: 'defragmented' }).waitFor(WAIT);
    const download = page.waitForEvent('download');
    await page.click('#snapshot');
    const snapshot = readFileSync(await (await download).path());
    assert.ok(snapshot.length > 4096, `a snapshot of ${snapshot.length} bytes`);
    await page.locator('#maintenance-message.ok', { hasText: 'snapshot downloaded' }).waitFor(WAIT);
    await page.locator('#cluster-panel').screenshot({ path: artifact('playground-maintenance.png') });
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del('pg-maintenance');
  });

  test('saved connections keep no password unless asked; relay mode watches through the SSE relay', async () => {
    const p = uniquePrefix('pg-relay');
    const page = await openPlayground(suite.context, p);
    await page.click('#connections summary');
    await page.fill('#password', 'secret');
    await page.fill('#profile-name', 'local relay');
    await page.check('#relay-mode');
    await page.click('#profile-save');
    await page.locator('#profile-message', { hasText: 'without the password' }).waitFor(WAIT);
    const saved = await page.evaluate(() => localStorage.getItem('etcd-playground.profiles'));
    assert.ok(saved && !saved.includes('secret'));
    await page.fill('#password', '');
    await page.reload();
    await page.locator('#status.ok').waitFor(WAIT);
    await page.click('#connections summary');
    await page.selectOption('#profile', 'local relay');
    await page.locator('#status.ok', { hasText: 'watching through the relay' }).waitFor(WAIT);
    await page.fill('#prefix', p);
    await page.click('#tree-form button');
    await page.locator('#watch-state', { hasText: 'through the relay' }).waitFor(WAIT);
    await page.locator('#watch-panel[data-state="watching"]').waitFor(WAIT);
    const { revision } = await suite.etcd.put(`${p}via-relay`, 'relayed');
    await page.locator(`#watch-events li[data-key="${p}via-relay"][data-revision="${revision}"]`).waitFor(WAIT);
    await treeKey(page, `${p}via-relay`).waitFor(WAIT);
    await shot(page, 'playground-relay-mode');
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });

  test('dark mode, a 390 px layout without sideways scroll, keyboard and axe-core on every panel', async () => {
    const page = await openPlayground(suite.context, '', { width: 390, height: 844 });
    await page.locator('#members tbody tr').first().waitFor(WAIT);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(overflow, 0, 'no sideways scroll at 390 px');
    await shot(page, 'playground-390px', true);
    // Dark mode follows the system until the toggle is used.
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    assert.equal(await theme(), 'light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark', undefined, WAIT);
    await page.click('#theme');
    assert.equal(await theme(), 'light');
    await page.click('#theme');
    assert.equal(await theme(), 'dark');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await theme(), 'dark', 'the pick outlasts the system preference');
    await page.setViewportSize({ width: 1400, height: 900 });
    await shot(page, 'playground-dark');
    // The skip link is the first tab stop and leads to the tree.
    await page.reload();
    await page.locator('#status.ok').waitFor(WAIT);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'tree');
    const failures: string[] = [];
    for (const theme of ['dark', 'light']) {
      if (theme === 'light') await page.click('#theme');
      for (const panel of [
        'header',
        '#tree-panel',
        '#editor',
        '#txn-panel',
        '#watch-panel',
        '#cluster-panel',
        '#io-panel',
        '#auth-panel',
      ]) {
        for (const violation of await axeViolations(page, panel)) failures.push(`${theme} ${panel}: ${violation}`);
      }
    }
    assert.deepEqual(failures, []);
    assertNoPageErrors(page);
    await page.close();
  });

  test('users, roles and permissions; enabling authentication says what happens, and the page then asks for a login', async () => {
    const page = await openPlayground(suite.context, '');
    await page.locator('#auth-state', { hasText: 'disabled' }).waitFor(WAIT);
    const addUser = async (name: string, password: string) => {
      await page.fill('#user-name', name);
      await page.fill('#user-password', password);
      await page.click('#user-form button');
      await page.locator(`#users tr[data-user="${name}"]`).waitFor(WAIT);
    };
    await addUser('root', 'root-pw');
    await addUser('reader', 'reader-pw');
    for (const role of ['root', 'readers']) {
      await page.fill('#role-name', role);
      await page.click('#role-form button');
      await page.locator(`#roles tr[data-role="${role}"]`).waitFor(WAIT);
    }
    await page.fill('#perm-role', 'readers');
    await page.fill('#perm-key', 'public/');
    await page.click('#perm-form button[type="submit"]');
    await page.locator('#roles tr[data-role="readers"]', { hasText: 'read prefix “public/”' }).waitFor(WAIT);
    for (const [user, role] of [
      ['root', 'root'],
      ['reader', 'readers'],
    ] as const) {
      await page.fill('#user-role-user', user);
      await page.fill('#user-role-role', role);
      await page.click('#user-role-form button[type="submit"]');
      await page.locator(`#users tr[data-user="${user}"]`, { hasText: role }).waitFor(WAIT);
    }
    await page.locator('#auth-panel').screenshot({ path: artifact('playground-users-roles.png') });
    await page.click('#auth-toggle');
    await page.locator('#confirm[open]', { hasText: 'every client must log in' }).waitFor(WAIT);
    await page.click('#confirm-ok');
    await page.locator('#auth-message', { hasText: 'authentication enabled' }).waitFor(WAIT);
    // The page's client has no token now: the header says so instead of "connected".
    await page.locator('#status.error', { hasText: 'log in' }).waitFor(WAIT);
    await page.fill('#username', 'root');
    await page.fill('#password', 'root-pw');
    await page.click('#connect button');
    await page.locator('#status.ok', { hasText: 'as root' }).waitFor(WAIT);
    await page.locator('#auth-state', { hasText: 'enabled' }).waitFor(WAIT);
    await page.click('#auth-toggle');
    await page.locator('#confirm[open]', { hasText: 'without a password' }).waitFor(WAIT);
    await page.click('#confirm-ok');
    await page.locator('#auth-message', { hasText: 'authentication disabled' }).waitFor(WAIT);
    assert.deepEqual((await roleGet(suite.etcd, 'readers')).permissions.length, 1);
    await page.close();
  });
});

describe('playground alarms', () => {
  let small: PlaygroundContext;
  before(async () => {
    small = await startPlaygroundContext({ etcdArgs: ['--quota-backend-bytes', String(2 * 1024 * 1024)] });
  });
  after(async () => {
    await small?.close();
  });

  test('a NOSPACE alarm shows, and is disarmed after compaction, defragmentation and a confirmation', async () => {
    const client = new Etcd({ endpoints: small.playground.etcdEndpoint });
    const big = 'x'.repeat(200_000);
    let revision = 0;
    for (let i = 0; i < 40; i++) {
      try {
        ({ revision } = await client.put(`fill/${i % 4}`, big));
      } catch {
        break; // etcdserver: mvcc: database space exceeded
      }
    }
    const page = await openPlayground(small, '');
    await page.locator('#alarm-list [data-alarm="NOSPACE"]').waitFor(WAIT);
    await page.locator('#maintenance').screenshot({ path: artifact('playground-alarm.png') });
    await client.del({ prefix: 'fill/' }).catch(() => {});
    await client.compact(revision);
    await defragment(client);
    await page.locator('#alarm-list [data-alarm="NOSPACE"] button').click();
    await page.locator('#confirm[open]', { hasText: 'accepts writes again' }).waitFor(WAIT);
    await page.click('#confirm-ok');
    await page.locator('#maintenance-message.ok', { hasText: 'disarmed NOSPACE' }).waitFor(WAIT);
    await page.locator('#alarm-list', { hasText: 'none' }).waitFor(WAIT);
    assert.deepEqual(await alarmList(client), []);
    await client.put('after-disarm', 'ok');
    assertNoPageErrors(page);
    await page.close();
    client.close();
  });
});
