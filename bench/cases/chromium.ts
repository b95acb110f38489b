import { launchChromium } from '../../test/helpers/browser.ts';
import { serveRepo } from '../../test/helpers/static-server.ts';
import { BARE, type BenchCase, type CaseResult, ETCD_FETCH, type Figure, median, type Stats, verdict } from '../lib.ts';

/** What `window.bench` in bench/chromium-page.html answers: per case, per contender, ops/s. */
interface PageAnswer {
  results: Record<string, Record<string, Stats>>;
  watchAlive: boolean;
}

/** Targets from the issue: etcd-fetch / bare fetch in the same page, at least. */
const TARGETS: Record<string, number> = { '64 concurrent gets': 20, '64 concurrent puts': 10 };

/**
 * The browser case: bench/chromium-page.html, served from another origin, runs sequential
 * put+get, 64 concurrent gets and 64 concurrent puts with the browser bundle and with a bare
 * fetch loop, in Chromium (HTTP/1.1, at most six connections to etcd's origin), while one watch
 * stays open. The page times its own rounds; this side only formats the medians.
 */
const chromiumCase: BenchCase = {
  name: 'chromium',
  async run(context) {
    const site = await serveRepo();
    try {
      await using browser = await launchChromium();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${site.origin}/bench/chromium-page.html`);
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, {
        timeout: 15_000,
      });
      const config = {
        endpoint: context.endpoint,
        keys: [...context.keys],
        rounds: context.rounds,
        roundMs: context.roundMs,
      };
      const answer = await page.evaluate(
        (config) => (window as unknown as { bench(c: typeof config): Promise<PageAnswer> }).bench(config),
        config,
      );
      if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
      return Object.entries(answer.results).map(([metric, byContender]): CaseResult => {
        const figures: Figure[] = Object.entries(byContender).map(([contender, stats]) => ({ contender, stats }));
        const ratio = median(figures, ETCD_FETCH) / median(figures, BARE);
        const target = TARGETS[metric];
        const targets = [
          target === undefined
            ? `etcd-fetch does ${ratio.toFixed(2)}x the ops/s of bare fetch in the same page`
            : `etcd-fetch does ${ratio.toFixed(2)}x the ops/s of bare fetch in the same page (target >= ${target}x): ${verdict(ratio, target, 'at least')}`,
        ];
        if (metric === Object.keys(answer.results).at(-1))
          targets.push(
            `the watch held open during the run ${answer.watchAlive ? 'still delivered an event after it' : 'did NOT deliver an event after it'}`,
          );
        return { unit: 'ops/s', metric, figures, targets };
      });
    } finally {
      await site.close();
    }
  },
};

export default chromiumCase;
