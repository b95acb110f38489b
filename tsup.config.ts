import { defineConfig } from 'tsup';

// One self-contained file for `<script type="module">`, CDNs and workerd (`etcd-fetch/browser`):
// dependencies inlined, minified, no source map. The npm modules themselves come from tsc
// (tsconfig.build.json, run by scripts/build.ts).
export default defineConfig({
  entry: { 'etcd-fetch.browser': 'src/browser.ts' },
  format: ['esm'],
  platform: 'browser',
  target: 'es2022',
  noExternal: [/.*/],
  minify: true,
  treeshake: true,
  splitting: false,
  clean: false,
  outExtension: () => ({ js: '.js' }),
});
