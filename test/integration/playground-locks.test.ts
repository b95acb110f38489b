// The playground's lock and election inspector, in Chromium against a real etcd: etcd-fetch's
// lock and election recipes and a Go-style lock key (same layout), holders, queues, leaders and
// their values, TTLs counting down, live updates, and a stuck holder revoked after a confirmation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grant, revoke } from 'etcd-fetch';
import { election, lock } from 'etcd-fetch/concurrency';
import { uniquePrefix } from '../helpers/etcd.ts';
import { assertNoPageErrors, openPlayground, shot, usePlayground, WAIT } from '../helpers/playground-page.ts';
import { axeInBothThemes, readmeImage } from '../helpers/playground-themes.ts';

describe('playground lock and election inspector', () => {
  const suite = usePlayground();

  test('shows holders, queues, leaders and TTLs live, and revokes a stuck holder after a confirmation', async () => {
    const p = uniquePrefix('pg-locks');
    const stop = new AbortController();
    const held = await lock(suite.etcd.core, `${p}locks/db-migration`, { ttl: 60 });
    const second = lock(suite.etcd.core, `${p}locks/db-migration`, { ttl: 30, signal: stop.signal });
    // The second waiter joins after the first (its key is created later).
    await new Promise((r) => setTimeout(r, 300));
    const third = lock(suite.etcd.core, `${p}locks/db-migration`, { ttl: 45, signal: stop.signal });
    const leader = await election(suite.etcd.core, `${p}elections/scheduler`).campaign('node-a', { ttl: 20 });
    const candidate = election(suite.etcd.core, `${p}elections/scheduler`).campaign('node-b', {
      ttl: 20,
      signal: stop.signal,
    });
    // A lock of Go's concurrency package: the same layout, `name/<lease hex>` on that lease.
    const goLease = await grant(suite.etcd.core, 90);
    const goHex = BigInt(goLease.id).toString(16);
    await suite.etcd.put(`${p}go/jobs/${goHex}`, '', { lease: goLease.id });
    await suite.etcd.put(`${p}config/plain`, 'not a lock');
    second.catch(() => {});
    third.catch(() => {});
    candidate.catch(() => {});
    await new Promise((r) => setTimeout(r, 300));

    const page = await openPlayground(suite.context, p);
    await page.fill('#locks-prefix', p);
    await page.click('#locks-form button[type="submit"]');
    const queue = (name: string) => page.locator(`#locks-list article[data-name="${p}${name}"]`);
    await queue('locks/db-migration').locator('tbody tr').nth(2).waitFor(WAIT);
    await page.locator('#locks-count', { hasText: '2 locks, 1 election' }).waitFor(WAIT);
    const migration = queue('locks/db-migration');
    assert.equal(await migration.getAttribute('data-kind'), 'lock');
    const rows = migration.locator('tbody tr');
    assert.deepEqual(await rows.locator('td:first-child').allTextContents(), ['holder', 'waiting 1', 'waiting 2']);
    assert.equal(await rows.nth(0).getAttribute('data-key'), new TextDecoder().decode(held.key));
    // TTLs: 60 s for the holder's session, counting down.
    const ttl = async (row: number) => Number.parseInt((await rows.nth(row).locator('td.ttl').textContent()) ?? '', 10);
    const first = await ttl(0);
    assert.ok(first > 35 && first <= 60, `holder TTL ${first} (kept alive at a third of 60 s)`);
    assert.ok((await ttl(1)) <= 30 && (await ttl(2)) <= 45);
    await page.waitForFunction(
      ([selector, before]) => Number.parseInt(document.querySelector(selector)?.textContent ?? '', 10) < before,
      [`#locks-list article[data-name="${p}locks/db-migration"] tbody tr td.ttl`, first] as const,
      WAIT,
    );
    const scheduler = queue('elections/scheduler');
    assert.equal(await scheduler.getAttribute('data-kind'), 'election');
    assert.match((await scheduler.locator('p').textContent()) ?? '', /with the value node-a/);
    assert.deepEqual(await scheduler.locator('tbody td:first-child').allTextContents(), ['leader', 'candidate 1']);
    assert.equal(await queue('go/jobs').getAttribute('data-kind'), 'lock');
    assert.equal(await queue('go/jobs').locator('tbody tr').getAttribute('data-lease'), goHex);
    assert.equal(await queue('config').count(), 0);

    // Live: the leader resigns, the candidate leads.
    await leader.resign();
    await scheduler.locator('p', { hasText: 'with the value node-b' }).waitFor(WAIT);
    await page.locator('#locks-panel').scrollIntoViewIfNeeded();
    await shot(page, 'playground-locks');
    await page.locator('#locks-panel').screenshot({ path: readmeImage('playground-locks.png') });
    assert.deepEqual(await axeInBothThemes(page, '#locks-panel'), []);

    // The holder is stuck: revoke its lease (cancel first, then confirm); the first waiter takes the lock.
    const holderLease = await rows.nth(0).getAttribute('data-lease');
    await rows.nth(0).locator('button', { hasText: 'Revoke' }).click();
    await page.locator('#confirm-message', { hasText: `Revoke lease ${holderLease}` }).waitFor(WAIT);
    await page.click('#confirm-cancel');
    assert.equal(await rows.count(), 3);
    await rows.nth(0).locator('button', { hasText: 'Revoke' }).click();
    await page.click('#confirm-ok');
    await page.locator('#locks-action', { hasText: `lease ${holderLease} revoked` }).waitFor(WAIT);
    await page.waitForFunction(
      (selector) => document.querySelectorAll(selector).length === 2,
      `#locks-list article[data-name="${p}locks/db-migration"] tbody tr`,
      WAIT,
    );
    const next = await second;
    assert.equal(await rows.nth(0).getAttribute('data-key'), new TextDecoder().decode(next.key));

    stop.abort();
    await next.unlock().catch(() => {});
    await (await candidate.catch(() => undefined))?.resign().catch(() => {});
    await revoke(suite.etcd.core, goLease);
    assertNoPageErrors(page);
    await page.close();
    await suite.etcd.del({ prefix: p });
  });
});
