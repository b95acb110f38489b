import { defineConfig } from 'tsup';

/** The package's subpath entries: their types come from here, their code from the one bundle below. */
export const entries = {
  index: 'src/index.ts',
  kv: 'src/kv/index.ts',
  lease: 'src/lease/index.ts',
  watch: 'src/watch/index.ts',
  concurrency: 'src/concurrency/index.ts',
  admin: 'src/admin/index.ts',
  relay: 'src/relay/index.ts',
};

export default defineConfig([
  {
    // Declarations only, one per subpath export. Their code is a one-line re-export of the bundle
    // (scripts/entry-stubs.ts writes them), so the package ships the client once (see CHANGELOG.md).
    entry: entries,
    format: ['esm'],
    platform: 'neutral',
    target: 'es2022',
    dts: { only: true },
    clean: true,
  },
  {
    // One self-contained file for every runtime, a <script type="module"> or a CDN import:
    // dependencies inlined, minified, no source map.
    entry: { 'etcd-fetch.browser': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    noExternal: [/.*/],
    minify: true,
    treeshake: true,
    splitting: false,
    outExtension: () => ({ js: '.js' }),
  },
]);
