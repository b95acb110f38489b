import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The npm package: ESM only (ky and eventsource-parser are ESM-only), dependencies left to the installer.
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    platform: 'neutral',
    target: 'es2022',
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    splitting: false,
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
