// After tsup: writes dist/<subpath>.js for each subpath export as a re-export of the names that
// subpath exports from the one bundle, dist/etcd-fetch.browser.js (run by `npm run build`).
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { entries } from '../tsup.config.ts';

const root = resolve(import.meta.dirname, '..');
for (const [name, source] of Object.entries(entries)) {
  const result = await build({
    entryPoints: [join(root, source)],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    packages: 'external',
    write: false,
    metafile: true,
    outfile: join(root, 'dist', `${name}.js`),
    logLevel: 'silent',
  });
  const exported = Object.values(result.metafile.outputs)[0]!.exports.toSorted();
  writeFileSync(join(root, 'dist', `${name}.js`), `export { ${exported.join(', ')} } from './etcd-fetch.browser.js';\n`);
}
