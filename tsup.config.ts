import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The npm package: ESM only (ky and eventsource-parser are ESM-only), dependencies left to the
    // installer; one entry per subpath export, sharing the core through split chunks.
    entry: {
      index: 'src/index.ts',
      kv: 'src/kv/index.ts',
      lease: 'src/lease/index.ts',
      watch: 'src/watch/index.ts',
      concurrency: 'src/concurrency/index.ts',
      admin: 'src/admin/index.ts',
      relay: 'src/relay/index.ts',
    },
    format: ['esm'],
    platform: 'neutral',
    target: 'es2022',
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    splitting: true,
  },
  {
    // One self-contained file for a <script type="module"> or a CDN import: dependencies inlined, minified.
    entry: { 'etcd-fetch.browser': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    noExternal: [/.*/],
    minify: true,
    sourcemap: true,
    treeshake: true,
    splitting: false,
    outExtension: () => ({ js: '.js' }),
  },
]);
