// The public API of every entry point, as `@microsoft/api-extractor` reads it from the built
// declarations, compared with the reports checked in under api/: a change to the public surface
// fails `npm test` until the report is updated on purpose (`npm run api -- --update`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const root = fileURLToPath(new URL('..', import.meta.url));
const update = process.argv.includes('--update');
const ENTRIES = ['index', 'kv', 'lease', 'watch', 'concurrency', 'admin', 'relay'] as const;

const scratch = mkdtempSync(join(tmpdir(), 'etcd-fetch-api-'));
let failed = 0;
try {
  for (const entry of ENTRIES) {
    const name = entry === 'index' ? 'etcd-fetch' : `etcd-fetch-${entry}`;
    const config = ExtractorConfig.prepare({
      configObjectFullPath: undefined,
      packageJsonFullPath: join(root, 'package.json'),
      configObject: {
        projectFolder: root,
        mainEntryPointFilePath: join(root, 'dist', entry === 'index' ? 'index.d.ts' : `${entry}/index.d.ts`),
        compiler: {
          overrideTsconfig: {
            compilerOptions: {
              target: 'ES2022',
              module: 'ESNext',
              moduleResolution: 'Bundler',
              allowImportingTsExtensions: true,
              lib: ['ES2023', 'DOM', 'DOM.Iterable', 'ESNext.Disposable', 'ESNext.AsyncIterable'],
              types: [],
              skipLibCheck: true,
              noEmit: true,
            },
            include: [join(root, 'dist')],
          },
        },
        apiReport: {
          enabled: true,
          reportFileName: `${name}.api.md`,
          reportFolder: join(root, 'api'),
          reportTempFolder: scratch,
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
          extractorMessageReporting: {
            default: { logLevel: ExtractorLogLevel.Warning },
            // Release tags (@public, @beta) are not a convention of this package.
            'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
            'ae-forgotten-export': { logLevel: ExtractorLogLevel.None },
            'ae-internal-missing-underscore': { logLevel: ExtractorLogLevel.None },
            'ae-undocumented': { logLevel: ExtractorLogLevel.None },
          },
          tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        },
      },
    });
    const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
    if (result.apiReportChanged && !update) {
      console.error(
        `api: the public API of ${name} changed (see the diff against api/${name}.api.md); if on purpose, run npm run api -- --update and commit the report`,
      );
      failed++;
    } else if (!result.succeeded) {
      console.error(`api: ${name}: ${result.errorCount} errors`);
      failed++;
    } else console.log(`api: ${name} ${update && result.apiReportChanged ? 'report updated' : 'unchanged'}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (failed > 0) process.exit(1);
