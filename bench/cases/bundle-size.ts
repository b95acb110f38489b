import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type BenchCase, ETCD_FETCH, type Figure, verdict } from '../lib.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Bytes of a minified, gzipped browser bundle of `entry` (source text importing the package). */
async function gzippedKB(entry: string, external: string[] = []): Promise<number> {
  const result = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    external,
    logLevel: 'silent',
  });
  return gzipSync(result.outputFiles[0]!.contents, { level: 9 }).length / 1024;
}

/** A page that only reads and writes keys, through the KV entry point. */
export const KV_PAGE = `import { createCore, put, get, range, txn, cmp, op } from './src/kv/index.ts';
const core = createCore();
await put(core, 'k', 'v');
console.log(await get(core, 'k'), await range(core, { prefix: 'a/' }), await txn(core).if(cmp.version('k', '=', 0)).then(op.put('k', 'v')).commit());`;

/** A dashboard page: the Etcd class for get, put, range, txn and watch. */
export const DASHBOARD_PAGE = `import { Etcd, cmp, op } from './src/index.ts';
const etcd = new Etcd();
await etcd.put('k', 'v');
console.log(await etcd.get('k'), await etcd.range({ prefix: 'a/' }, { limit: 10 }));
await etcd.txn().if(cmp.version('k', '=', 0)).then(op.put('k', 'v')).commit();
for await (const event of etcd.watch({ prefix: 'a/' })) console.log(event.type);`;

const exact = (kb: number): Figure['stats'] => ({ median: kb, min: kb, max: kb });
const DEPENDENCIES = ['base64-js', 'eventsource-parser', 'ky'];

/** Browser bundle sizes (min+gzip): the whole root entry, a dashboard page through Etcd, a KV page; with and without dependencies. */
const bundleSize: BenchCase = {
  name: 'bundle-size',
  async run() {
    const whole = await gzippedKB(`export * from './src/index.ts';`);
    const everything = await gzippedKB(`export * from './src/browser.ts';`);
    const dashboard = await gzippedKB(DASHBOARD_PAGE);
    const kvOnly = await gzippedKB(KV_PAGE);
    const ky = await gzippedKB(`import ky from 'ky'; console.log(ky.create({}));`);
    const own = async (page: string) => gzippedKB(page, DEPENDENCIES);
    const [wholeOwn, dashboardOwn, kvOwn] = await Promise.all([
      own(`export * from './src/index.ts';`),
      own(DASHBOARD_PAGE),
      own(KV_PAGE),
    ]);
    return {
      unit: 'KB',
      figures: [
        { contender: `${ETCD_FETCH}, whole root entry`, stats: exact(whole) },
        { contender: `${ETCD_FETCH}, whole root entry without dependencies`, stats: exact(wholeOwn) },
        { contender: `${ETCD_FETCH}, every entry (what etcd-fetch/browser holds)`, stats: exact(everything) },
        {
          contender: `${ETCD_FETCH}, dashboard page through Etcd (get, put, range, txn, watch)`,
          stats: exact(dashboard),
        },
        { contender: `${ETCD_FETCH}, dashboard page without dependencies`, stats: exact(dashboardOwn) },
        { contender: `${ETCD_FETCH}/kv page (put, get, range, txn)`, stats: exact(kvOnly) },
        { contender: `${ETCD_FETCH}/kv page without dependencies`, stats: exact(kvOwn) },
        { contender: 'ky alone (ky.create)', stats: exact(ky) },
      ],
      targets: [
        `dashboard page through Etcd ${dashboard.toFixed(1)} KB min+gzip (target <= 24 KB): ${verdict(dashboard, 24, 'at most')}`,
        `KV page through etcd-fetch/kv ${kvOnly.toFixed(1)} KB min+gzip (target <= 16 KB): ${verdict(kvOnly, 16, 'at most')}`,
        `whole root entry ${whole.toFixed(1)} KB min+gzip (target <= 40 KB): ${verdict(whole, 40, 'at most')}`,
      ],
    };
  },
};

export default bundleSize;
