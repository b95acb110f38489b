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

const exact = (kb: number): Figure['stats'] => ({ median: kb, min: kb, max: kb });

/** Browser bundle size (min+gzip) of the whole client, of the code written here, and of a KV-only use. */
const bundleSize: BenchCase = {
  name: 'bundle-size',
  async run() {
    const whole = await gzippedKB(`export * from './src/index.ts';`);
    const own = await gzippedKB(`export * from './src/index.ts';`, ['base64-js', 'eventsource-parser', 'ky']);
    const kvOnly = await gzippedKB(KV_PAGE);
    const facadeKv = await gzippedKB(
      `import { Etcd } from './src/index.ts'; const etcd = new Etcd(); await etcd.put('k', 'v'); console.log(await etcd.get('k'));`,
    );
    return {
      unit: 'KB',
      figures: [
        { contender: `${ETCD_FETCH}, whole client`, stats: exact(whole) },
        { contender: `${ETCD_FETCH}, without dependencies`, stats: exact(own) },
        { contender: `${ETCD_FETCH}/kv page (put, get, range, txn)`, stats: exact(kvOnly) },
        { contender: `${ETCD_FETCH}, Etcd class for put and get`, stats: exact(facadeKv) },
      ],
      targets: [
        `KV-only page ${kvOnly.toFixed(1)} KB min+gzip with ky and base64-js (target <= 13 KB): ${verdict(kvOnly, 13, 'at most')}`,
        `whole client ${whole.toFixed(1)} KB min+gzip (target <= 24 KB): ${verdict(whole, 24, 'at most')}`,
        `code written here ${own.toFixed(1)} KB (target <= 6 KB): ${verdict(own, 6, 'at most')}`,
      ],
    };
  },
};

export default bundleSize;
