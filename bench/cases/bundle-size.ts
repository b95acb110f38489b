import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type BenchCase, type CaseResult, ETCD_FETCH, type Figure, verdict } from '../lib.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const exact = (kb: number): Figure['stats'] => ({ median: kb, min: kb, max: kb });

/** What a group of modules buys a page, and which source files (or packages) make it up. */
const GROUPS: { buys: string; files: RegExp }[] = [
  { buys: 'ky: sending, per-attempt and total timeouts, retries, hooks', files: /node_modules\/ky\// },
  { buys: 'base64-js: keys and values as bytes', files: /node_modules\/base64-js\// },
  {
    buys: 'calls: deadlines, bounded answers, etcd errors from answers',
    files: /src\/core\/(transport|deadline|answer|bounded-body|native-fetch|timers)\.ts$/,
  },
  { buys: 'endpoint pool: failover, circuit breaker, discovery', files: /src\/core\/endpoints\.ts$/ },
  { buys: 'explanations of failed connections (refused, TLS, DNS)', files: /src\/core\/connect-failure\.ts$/ },
  { buys: 'typed errors', files: /src\/core\/errors\.ts$/ },
  { buys: 'checks of options and input', files: /src\/core\/check-options\.ts$/ },
  { buys: 'authentication and token renewal', files: /src\/core\/auth-token\.ts$/ },
  { buys: 'batching of reads and writes', files: /src\/kv\/(scheduler|batch|write-batch|ordered-read)\.ts$/ },
  { buys: 'KV and txn: calls, key ranges, namespaces, bytes', files: /src\/(kv|core)\/[^/]+\.ts$/ },
  { buys: 'watch: the shared stream, resume, events', files: /src\/watch\// },
  { buys: 'leases and their keep-alive loop', files: /src\/lease\// },
  { buys: 'the Etcd class', files: /src\/index\.ts$/ },
];

function bundleOptions(entry: string, external: string[] = []) {
  return {
    stdin: { contents: entry, resolveDir: root, loader: 'ts' as const },
    bundle: true,
    minify: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    target: 'es2022',
    write: false as const,
    external,
    logLevel: 'silent' as const,
  };
}

/** Bytes of a minified, gzipped browser bundle of `entry` (source text importing the package). */
async function gzippedKB(entry: string, external: string[] = []): Promise<number> {
  const result = await build(bundleOptions(entry, external));
  return gzipSync(result.outputFiles[0]!.contents, { level: 9 }).length / 1024;
}

/**
 * Each group's share of a page's min+gzip size: its minified bytes in the bundle (esbuild's
 * metafile) times the page's gzip ratio. An estimate: gzip shares its window across modules.
 */
async function whatEachKBBuys(page: string): Promise<Figure[]> {
  const result = await build({ ...bundleOptions(page), metafile: true });
  const code = result.outputFiles[0]!.contents;
  const kbPerByte = gzipSync(code, { level: 9 }).length / code.length / 1024;
  const bytes = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(Object.values(result.metafile.outputs)[0]!.inputs)) {
    const buys = GROUPS.find((group) => group.files.test(file))?.buys ?? 'the page itself';
    bytes.set(buys, (bytes.get(buys) ?? 0) + bytesInOutput);
  }
  return [...bytes]
    .sort((a, b) => b[1] - a[1])
    .map(([buys, size]) => ({ contender: buys, stats: exact(size * kbPerByte) }));
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
    const sizes: CaseResult = {
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
    return [
      sizes,
      { unit: 'KB', metric: 'what each KB of the KV page buys', figures: await whatEachKBBuys(KV_PAGE) },
      { unit: 'KB', metric: 'what each KB of the dashboard page buys', figures: await whatEachKBBuys(DASHBOARD_PAGE) },
    ];
  },
};

export default bundleSize;
