import { Etcd, op } from 'etcd-fetch';
import { startPlayground } from '../../scripts/playground.ts';
import { launchChromium } from '../../test/helpers/browser.ts';
import type { BenchCase, Stats } from '../lib.ts';

const KEYS = 30_000;

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
}

/**
 * The playground's find panel in Chromium: how long a search over the values of 30 000 keys
 * (about 60 bytes of JSON each) takes, from the click on Find to the last page matched, as the
 * panel itself times it (every value read in pages bounded by bytes, then matched in the page),
 * for a text search and a regex search.
 */
const valueSearchCase: BenchCase = {
  name: 'value-search',
  async run(context) {
    const etcd = new Etcd({ endpoints: context.endpoint });
    const prefix = `bench-value-search/${Date.now()}/`;
    const playground = await startPlayground({ etcdEndpoint: context.endpoint });
    try {
      for (let start = 0; start < KEYS; start += 120) {
        const puts = [];
        for (let i = start; i < Math.min(start + 120, KEYS); i++)
          puts.push(
            op.put(
              `${prefix}k${String(i).padStart(5, '0')}`,
              JSON.stringify({ id: i, color: i % 1_000 ? 'blue' : 'red' }),
            ),
          );
        await etcd
          .txn()
          .then(...puts)
          .commit();
      }
      await using browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(playground.url);
      await page.locator('#status.ok').waitFor({ timeout: 15_000 });
      await page.fill('#find-prefix', prefix);
      const timed = async (query: string, regex: boolean) => {
        const times: number[] = [];
        for (let round = 0; round < Math.min(context.rounds, 5); round++) {
          await page.fill('#find-query', query);
          await page.setChecked('#find-regex', regex);
          await page.click('#find-form button[type="submit"]');
          await page.locator('#find-panel[data-state="done"]').waitFor({ timeout: 60_000 });
          times.push(Number(await page.getAttribute('#find-panel', 'data-ms')));
        }
        return times;
      };
      const text = await timed('"color":"red"', false);
      const regex = await timed('"id":\\d+9,"color":"red"', true);
      return [
        {
          unit: 'ms',
          metric: `search the values of ${KEYS.toLocaleString('en')} keys (text)`,
          figures: [{ contender: 'playground', stats: stats(text) }],
        },
        {
          unit: 'ms',
          metric: `search the values of ${KEYS.toLocaleString('en')} keys (regex)`,
          figures: [{ contender: 'playground', stats: stats(regex) }],
        },
      ];
    } finally {
      await etcd.del({ prefix }).catch(() => {});
      etcd.close();
      await playground.close();
    }
  },
};

export default valueSearchCase;
