// The SSE relay: a workerd worker (test/runtimes/relay-worker.js, the README's example) holds the
// etcd client and serves a prefix's watch; Chromium consumes it through a native EventSource and
// through `subscribe`, across a restart of the relay, with no event lost or repeated.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cmp, Etcd, op } from 'etcd-fetch';
import { freePort } from '../../scripts/etcd.ts';
import { launchChromium } from '../helpers/browser.ts';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { serveRepo } from '../helpers/static-server.ts';
import { startRelay, stopRelay } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();

const RELAY_SECRET = 'the relay example signs its event ids';
const relayEnv = (prefix: string, origin: string) => ({
  ETCD_ENDPOINT: etcdUnderTest.endpoint,
  WATCH_PREFIX: prefix,
  ALLOW_ORIGIN: origin,
  RELAY_SECRET,
});

describe('SSE relay in workerd, consumed by Chromium', () => {
  test('EventSource and subscribe see every event once, in order, across a relay restart', async () => {
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    const prefix = uniquePrefix('relay');
    const port = await freePort();
    const site = await serveRepo();
    let relay = await startRelay('relay-workerd.capnp', port, relayEnv(prefix, site.origin));
    try {
      await using browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(
        `${site.origin}/test/runtimes/relay-page.html?relay=${encodeURIComponent(`http://127.0.0.1:${port}/events`)}`,
      );
      await page.waitForFunction(() => (window as any).nativeReady && (window as any).subscribeReady, undefined, {
        timeout: 20_000,
      });

      const expected: string[] = [];
      const put = async (key: string, value: string) => {
        const { revision } = await etcd.put(`${prefix}${key}`, value);
        expected.push(`put ${prefix}${key} ${revision}`);
      };
      for (let i = 0; i < 10; i++) await put(`k${i}`, `v${i}`);
      // Three events sharing one revision, and a delete.
      const txn = await etcd
        .txn()
        .if(cmp.version(`${prefix}t0`, '=', 0))
        .then(op.put(`${prefix}t0`, 'a'), op.put(`${prefix}t1`, 'b'), op.put(`${prefix}t2`, 'é'))
        .commit();
      expected.push(
        `put ${prefix}t0 ${txn.revision}`,
        `put ${prefix}t1 ${txn.revision}`,
        `put ${prefix}t2 ${txn.revision}`,
      );
      const deleted = await etcd.del(`${prefix}k0`);
      expected.push(`delete ${prefix}k0 ${deleted.revision}`);

      const seen = async () =>
        page.evaluate(() => ({
          native: (window as any).native as string[],
          subscribed: (window as any).subscribed as string[],
          error: (window as any).subscribeError as string | undefined,
        }));
      const strip = (lines: string[]) => lines.map((l) => l.split(' ').slice(0, 3).join(' '));
      const waitFor = async (count: number) => {
        for (let i = 0; i < 300; i++) {
          const s = await seen();
          if (s.error) throw new Error(s.error);
          if (s.native.length >= count && s.subscribed.length >= count) return s;
          await new Promise((r) => setTimeout(r, 50));
        }
        const s = await seen();
        throw new Error(`timed out: native ${s.native.length}, subscribe ${s.subscribed.length} of ${count}`);
      };
      await waitFor(expected.length);

      await stopRelay(relay);
      for (let i = 10; i < 20; i++) await put(`k${i}`, `v${i}`);
      relay = await startRelay('relay-workerd.capnp', port, relayEnv(prefix, site.origin));
      for (let i = 20; i < 25; i++) await put(`k${i}`, `v${i}`);

      const final = await waitFor(expected.length);
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
      const settled = await seen();
      assert.deepEqual(strip(settled.native), expected, 'native EventSource');
      assert.deepEqual(strip(settled.subscribed), expected, 'subscribe()');
      assert.equal(final.native.length, expected.length);
      // Events sharing a revision carry distinct ids, the last one the plain revision (then the signature).
      const txnIds = settled.subscribed
        .filter((l) => l.includes(`${prefix}t`))
        .map((l) => l.split(' ')[3]!.split('~')[0]);
      assert.deepEqual(txnIds, [`${txn.revision}.0`, `${txn.revision}.1`, `${txn.revision}`]);
    } finally {
      await stopRelay(relay);
      await site.close();
    }
  });
});
