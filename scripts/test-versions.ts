// `npm run test:versions [3.5 3.6 3.7 3.4 imitated:3.6 ...]`: the integration suites that start
// their own etcd (those calling useEtcd, startEtcd or startCluster) again, once per etcd release
// line, each against the REAL server of that line: 3.5, 3.6 and 3.7 built from etcd's Go modules
// (test/servers/, built by scripts/test-prerequisites.ts), 3.4 Debian's 3.4.23 (which the main
// `npm test` run already covers, so it is not in the default list). `imitated:X` runs them through
// the imitation of X in front of Debian's 3.4.23 instead (test/helpers/version-gateway.ts), for what
// no buildable server shows: `imitated:3.4` (3.4.42+'s auth checks), `imitated:3.4.23` (upstream's
// build, which drops the connection on every error). Default: 3.5 3.6 3.7.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GATEWAY_VERSIONS } from '../test/helpers/version-gateway.ts';
import { BUILT_LINES, ensureBuilt, isBuiltLine, serverModule } from './etcd-builds.ts';

const root = resolve(import.meta.dirname, '..');
const suites = join('test', 'integration');
/**
 * Suites run once, by the main `npm test` run: the imitation's own and the comparison of real
 * servers with it, and those whose subject does not depend on the server's release line (other
 * runtimes' fetch and workerd's request model, the fault proxy itself, closed ports, Go's client).
 */
const ONCE = new Set([
  'version-gateway.test.ts',
  'real-versions.test.ts',
  'runtimes.test.ts',
  'relay-durable-object.test.ts',
  'watch-workerd.test.ts',
  'fault-proxy.test.ts',
  'wrong-endpoint.test.ts',
  // Go's client is one fixed release; the recipes' gateway side runs per line in recipes.test.ts.
  'go-interop.test.ts',
]);
const files = readdirSync(join(root, suites))
  .filter((name) => name.endsWith('.test.ts') && !ONCE.has(name))
  .map((name) => join(suites, name))
  .filter((file) => /\b(useEtcd|startEtcd|startCluster)\(/.test(readFileSync(join(root, file), 'utf8')));

interface Run {
  label: string;
  env: Record<string, string>;
}

const asked = process.argv.slice(2);
const runs: Run[] = [];
for (const version of asked.length > 0 ? asked : [...BUILT_LINES]) {
  const imitated = /^imitated:(.+)$/.exec(version)?.[1];
  if (imitated !== undefined) {
    if (!(GATEWAY_VERSIONS as readonly string[]).includes(imitated)) {
      console.error(`unknown imitated version ${imitated}; imitated: ${GATEWAY_VERSIONS.join(', ')}`);
      process.exit(2);
    }
    runs.push({
      label: `the imitation of etcd ${imitated} in front of Debian's etcd`,
      env: { ETCD_GATEWAY: imitated, ETCD_SERVER_VERSION: '' },
    });
  } else if (version === '3.4') {
    runs.push({ label: "Debian's etcd 3.4.23", env: { ETCD_GATEWAY: '', ETCD_SERVER_VERSION: '' } });
  } else if (isBuiltLine(version)) {
    const binary = ensureBuilt(version);
    runs.push({
      label: `real etcd ${serverModule(version).version}`,
      env: { ETCD_GATEWAY: '', ETCD_SERVER_VERSION: version, ETCD_BIN: binary },
    });
  } else {
    console.error(
      `unknown version ${version}; real: 3.4, ${BUILT_LINES.join(', ')}; imitated: ${GATEWAY_VERSIONS.map((v) => `imitated:${v}`).join(', ')}`,
    );
    process.exit(2);
  }
}

const failed: string[] = [];
const startedAll = performance.now();
for (const run of runs) {
  console.log(`\n# ${run.label}: ${files.length} suites`);
  const started = performance.now();
  const env: Record<string, string | undefined> = { ...process.env, ...run.env };
  // Unset rather than empty: etcd reads every ETCD_* variable as a flag.
  for (const [name, value] of Object.entries(run.env)) if (value === '') delete env[name];
  delete env.ETCD_ENDPOINTS;
  // test-run.ts: node --test, failing the run when a file's report is cut short or its process never ends.
  const child = spawnSync(
    process.execPath,
    [join('scripts', 'test-run.ts'), '--test-concurrency=2', '--test-timeout=120000', ...files],
    { cwd: root, stdio: 'inherit', env },
  );
  console.log(
    `# ${run.label}: ${child.status === 0 ? 'passed' : 'FAILED'} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  if (child.status !== 0) failed.push(run.label);
}
console.log(`# versions run in ${((performance.now() - startedAll) / 1000).toFixed(0)} s`);
if (failed.length > 0) {
  console.error(`\nintegration suites failed against ${failed.join('; ')}`);
  process.exit(1);
}
