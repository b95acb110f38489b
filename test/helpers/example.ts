// The examples run as a user would run them: each copied out of the repository into a scratch
// folder whose node_modules/etcd-fetch is the packed tarball, unpacked (never src/ or dist/).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');
/** The CDN address the browser examples import etcd-fetch from (the tests serve it from the tarball). */
export const CDN_PREFIX = 'https://cdn.jsdelivr.net/npm/etcd-fetch@0.1/';

let scratch: string | undefined;
let unpacked: string | undefined;

/** `npm pack` of the built repository, unpacked once per test process; the folder of its files. */
export function packedPackage(): string {
  if (unpacked) return unpacked;
  scratch = mkdtempSync(join(tmpdir(), 'etcd-fetch-examples-'));
  const folder = scratch;
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8' }),
  ) as [{ filename: string }];
  unpacked = join(scratch, 'package');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', join(scratch, packed.filename), '-C', unpacked, '--strip-components=1']);
  return unpacked;
}

/**
 * An empty folder named `name` whose node_modules has the unpacked tarball as etcd-fetch and its
 * dependencies beside it, as npm would install them.
 */
export function exampleScratch(name: string): string {
  const from = packedPackage();
  const folder = join(scratch!, name);
  mkdirSync(folder, { recursive: true });
  installInto(from, folder);
  return folder;
}

/** The unpacked tarball as `folder`/node_modules/etcd-fetch, with its dependencies beside it. */
function installInto(from: string, folder: string): void {
  cpSync(from, join(folder, 'node_modules', 'etcd-fetch'), { recursive: true });
  const { dependencies = {} } = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  for (const dependency of Object.keys(dependencies))
    cpSync(join(root, 'node_modules', dependency), join(folder, 'node_modules', dependency), { recursive: true });
}

/**
 * A copy of `examples/<name>` with the unpacked tarball installed as node_modules/etcd-fetch, and its
 * dependencies beside it as npm would install them.
 */
export function exampleCopy(name: string): string {
  const from = packedPackage();
  const folder = join(scratch!, name);
  cpSync(join(root, 'examples', name), folder, { recursive: true });
  installInto(from, folder);
  return folder;
}
