import { Etcd } from 'etcd-fetch';
import { startPlayground } from '../scripts/playground.ts';
import { launchChromium } from '../test/helpers/browser.ts';

const pg = await startPlayground({});
const etcd = new Etcd({ endpoints: pg.etcdEndpoint });
for (let i = 0; i < 10; i++) await etcd.put(`a/k${i}`, `v${i}`);
const hi = (await etcd.put('b/x', 'y')).revision;
const browser = await launchChromium();
const page = await browser.newPage();
await page.goto(pg.url);
await page.locator('#status.ok').waitFor();
const out = await page.evaluate(
  async ([endpoint, hi]) => {
    const { Etcd } = await import('/dist/etcd-fetch.browser.js');
    const etcd = new Etcd({ endpoints: [endpoint] });
    const log = [];
    for (let round = 0; round < 3; round++) {
      const t = performance.now();
      const c = new AbortController();
      const w = etcd.watch({ prefix: '', startRevision: 3, prevKv: true, signal: c.signal });
      await w.ready;
      log.push(['ready', performance.now() - t]);
      for await (const r of w.responses()) {
        if (r.events.at(-1)?.revision >= hi) break;
      }
      log.push(['done', performance.now() - t]);
      c.abort();
      const t2 = performance.now();
      await etcd.range({ prefix: 'a/', countOnly: true });
      log.push(['range', performance.now() - t2]);
    }
    return log;
  },
  [pg.etcdEndpoint, hi] as const,
);
console.log(out);
await browser.close();
etcd.close();
await pg.close();
