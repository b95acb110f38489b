// `npm run test:versions [3.6 3.5 ...]`: the integration suites that run on a throwaway etcd
// (those calling useEtcd) again, once per etcd version, each through the imitation of that version
// (test/helpers/version-gateway.ts) in front of the real etcd. Default: every imitated release line.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GATEWAY_VERSIONS } from '../test/helpers/version-gateway.ts';

const root = resolve(import.meta.dirname, '..');
const suites = join('test', 'integration');
const files = readdirSync(join(root, suites))
  .filter((name) => name.endsWith('.test.ts') && name !== 'version-gateway.test.ts')
  .map((name) => join(suites, name))
  .filter((file) => readFileSync(join(root, file), 'utf8').includes('useEtcd('));

const asked = process.argv.slice(2);
const versions = asked.length > 0 ? asked : ['3.4', '3.5', '3.6', '3.7'];
for (const version of versions) {
  if (!(GATEWAY_VERSIONS as readonly string[]).includes(version)) {
    console.error(`unknown version ${version}; imitated: ${GATEWAY_VERSIONS.join(', ')}`);
    process.exit(2);
  }
}

const failed: string[] = [];
for (const version of versions) {
  console.log(`\n# etcd ${version} (imitated in front of the real etcd): ${files.length} suites`);
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ETCD_GATEWAY: version },
  });
  console.log(`# etcd ${version}: ${run.status === 0 ? 'passed' : 'FAILED'} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (run.status !== 0) failed.push(version);
}
if (failed.length > 0) {
  console.error(`\nintegration suites failed against the imitation of etcd ${failed.join(', ')}`);
  process.exit(1);
}
