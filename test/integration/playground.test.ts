// The README's main job: the playground dashboard against a local etcd, driven in Chromium.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { type Playground, startPlayground } from '../../scripts/playground.ts';
import { launchChromium } from '../helpers/browser.ts';
import { uniquePrefix } from '../helpers/etcd.ts';

const artifacts = resolve(import.meta.dirname, '../artifacts');
let playground: Playground;

describe('playground', () => {
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    playground = await startPlayground();
  });
  after(async () => {
    await playground.close();
  });

  test('lists, puts, gets and deletes keys through the browser bundle', async () => {
    const etcd = new Etcd({ endpoints: playground.etcdEndpoint });
    const p = uniquePrefix('playground');
    await etcd.put(`${p}seeded`, 'from another client');
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(playground.url);
    await page.locator('#status.ok').waitFor({ timeout: 15_000 });

    await page.fill('#prefix', p);
    await page.click('#list button');
    await page.locator('#keys tbody tr', { hasText: `${p}seeded` }).waitFor();

    await page.fill('#put-key', `${p}created`);
    await page.fill('#put-value', '{"hello":"world"}');
    await page.click('#put button');
    await page.locator('#keys tbody tr', { hasText: `${p}created` }).waitFor();
    assert.equal((await etcd.get(`${p}created`))?.valueText, '{"hello":"world"}');

    await page.fill('#get-key', `${p}seeded`);
    await page.click('#get button');
    await page.locator('#output', { hasText: 'from another client' }).waitFor();
    await page.screenshot({ path: resolve(artifacts, 'playground-keys.png') });

    await page.click(`#keys button[data-key="${p}created"]`);
    await page.locator('#keys tbody tr', { hasText: `${p}created` }).waitFor({ state: 'detached' });
    assert.equal(await etcd.get(`${p}created`), undefined);
  });
});
