// The playground's shareable read-only live view, in Chromium against a real etcd: a link made
// by the playground server opens the keys of one prefix, updates live for everyone who opens it,
// and neither the link nor the page holds an etcd endpoint or credential, or reaches etcd; a
// link whose signature does not match is refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { uniquePrefix } from '../helpers/etcd.ts';
import { assertNoPageErrors, openPlayground, shot, usePlayground, WAIT } from '../helpers/playground-page.ts';
import { axeInBothThemes } from '../helpers/playground-themes.ts';

const suite = usePlayground();

/** A viewer in a browser context of its own (nothing shared with the page that made the link). */
async function viewer(link: string): Promise<{ page: Page; requests: string[] }> {
  const browserContext = await suite.context.browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await browserContext.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => errors.push(String(error)));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(link);
  return { page, requests };
}

describe('playground shared read-only view', () => {
  test('a link opens one prefix read-only, live for everyone, with no etcd endpoint or credential', async () => {
    const p = uniquePrefix('pg-share');
    await suite.etcd.put(`${p}status/api`, 'healthy');
    await suite.etcd.put(`${p}status/db`, JSON.stringify({ primary: 'db-1', lag: 0 }));
    await suite.etcd.put(`${p.slice(0, -1)}-secret/token`, 'must not be seen');
    const page = await openPlayground(suite.context, p);
    await page.fill('#share-link-prefix', p);
    await page.click('#share-link-form button[type="submit"]');
    await page.locator('#share-link-message', { hasText: 'anyone with this link' }).waitFor(WAIT);
    const link = await page.inputValue('#share-link');
    const etcdPort = new URL(suite.context.playground.etcdEndpoint).port;
    assert.match(link, /^http:\/\/localhost:\d+\/view\.html\?view=[\w-]+\.[\w-]+$/);
    assert.ok(!link.includes(etcdPort), 'the link names no etcd endpoint');
    assert.deepEqual(await axeInBothThemes(page, '#share-panel'), []);

    const first = await viewer(link);
    const second = await viewer(link);
    for (const { page: view } of [first, second]) {
      await view.locator('body[data-state="live"]').waitFor(WAIT);
      await view.locator(`#share-rows tr[data-key="${p}status/api"]`).waitFor(WAIT);
      assert.equal(await view.locator('#share-rows tr').count(), 2);
    }
    // Live for both viewers: an update, a new key, a delete.
    await suite.etcd.put(`${p}status/api`, 'degraded');
    await suite.etcd.put(`${p}status/cache`, 'warming up');
    await suite.etcd.del(`${p}status/db`);
    for (const { page: view } of [first, second]) {
      await view.locator(`#share-rows tr[data-key="${p}status/api"] td`, { hasText: 'degraded' }).waitFor(WAIT);
      await view.locator(`#share-rows tr[data-key="${p}status/cache"]`).waitFor(WAIT);
      await view.locator(`#share-rows tr[data-key="${p}status/db"]`).waitFor({ state: 'detached', ...WAIT });
    }
    // Only the playground server was asked; the page holds no endpoint, and keys outside the prefix never came.
    const origin = new URL(suite.context.playground.url).origin;
    assert.deepEqual(
      first.requests.filter((url) => new URL(url).origin !== origin),
      [],
    );
    const html = await first.page.content();
    assert.ok(!html.includes(etcdPort) && !html.includes('must not be seen'));
    assert.ok(!(await first.page.evaluate(() => Object.keys(localStorage).length)));
    await shot(first.page, 'playground-share-view');
    assert.deepEqual(await axeInBothThemes(first.page, '#share-view'), []);

    // A link whose prefix was changed (the signature no longer matches) is refused.
    const url = new URL(link);
    const [, mac] = url.searchParams.get('view')!.split('.');
    url.searchParams.set('view', `${Buffer.from(`${p.slice(0, -1)}-secret/`).toString('base64url')}.${mac}`);
    const forged = await viewer(url.href);
    await forged.page.locator('body[data-state="refused"]').waitFor(WAIT);
    await forged.page.locator('#share-message', { hasText: 'not valid' }).waitFor(WAIT);
    assert.equal((await fetch(new URL(`/share/events?view=${url.searchParams.get('view')}`, origin))).status, 403);
    // Making a link needs a JSON request (which another origin cannot send without a preflight).
    assert.equal((await fetch(new URL('/share', origin), { method: 'POST', body: '{"prefix":""}' })).status, 415);

    for (const view of [first, second, forged]) {
      assertNoPageErrors(view.page);
      await view.page.context().close();
    }
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
    await suite.etcd.del(`${p.slice(0, -1)}-secret/token`);
  });
});
