// Before `npm test`: the programs the tests run besides Node. On a Debian-like machine as root the
// missing ones are installed from Debian's packages; elsewhere this says what to install and stops.
// Then the real etcd 3.5, 3.6 and 3.7 servers are built from their Go modules (test/servers/) into
// the cache folder (scripts/etcd-builds.ts) unless they are there already, and so is the Go program
// the interop tests drive (test/interop/go: Go's own client).
import { spawnSync } from 'node:child_process';
import { lookPath } from './etcd.ts';
import { BUILT_LINES, ensureBuilt, ensureInteropDriver } from './etcd-builds.ts';

interface Program {
  /** What the tests run, found through `env` first, then PATH. */
  binary: string;
  env: string;
  debianPackage: string;
  usedFor: string;
}

const PROGRAMS: readonly Program[] = [
  { binary: 'etcd', env: 'ETCD_BIN', debianPackage: 'etcd-server', usedFor: 'every integration test' },
  { binary: 'etcdctl', env: 'ETCDCTL_BIN', debianPackage: 'etcd-client', usedFor: 'checking downloaded snapshots' },
  {
    binary: 'chromium',
    env: 'CHROMIUM_BIN',
    debianPackage: 'chromium',
    usedFor: 'the browser, playground and example tests',
  },
  { binary: 'openssl', env: 'OPENSSL_BIN', debianPackage: 'openssl', usedFor: 'the TLS tests' },
];

const missing = PROGRAMS.filter((p) => !process.env[p.env] && lookPath(p.binary) === undefined);
if (missing.length > 0) {
  const packages = missing.map((p) => p.debianPackage);
  if (process.getuid?.() === 0 && lookPath('apt-get') !== undefined) {
    console.error(`test prerequisites: installing ${packages.join(', ')} from Debian's packages ...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
  }
  const stillMissing = missing.filter((p) => lookPath(p.binary) === undefined);
  if (stillMissing.length > 0) {
    for (const p of stillMissing)
      console.error(
        `missing: ${p.binary} (${p.usedFor}); Debian/Ubuntu: apt-get install ${p.debianPackage}, or set ${p.env}`,
      );
    process.exit(1);
  }
}

try {
  const log = (message: string) => console.error(`test prerequisites: ${message}`);
  for (const line of BUILT_LINES) ensureBuilt(line, log);
  ensureInteropDriver(log);
} catch (error) {
  console.error(`test prerequisites: ${(error as Error).message}`);
  process.exit(1);
}
