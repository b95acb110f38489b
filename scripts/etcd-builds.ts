// Real etcd servers of the 3.5, 3.6 and 3.7 lines, built from etcd's own Go modules: one small
// module per line in test/servers/etcd-X.Y (go.mod pins the release, go.sum is committed, main.go
// calls etcdmain.Main). Each is built once into a cache folder outside git and reused while its
// module's files are unchanged. Node-only, for tests.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The etcd release lines with a Go module here (3.4 is Debian's package, not a Go module). */
export const BUILT_LINES = ['3.5', '3.6', '3.7'] as const;
export type BuiltLine = (typeof BUILT_LINES)[number];

export interface ServerModule {
  readonly line: BuiltLine;
  /** The module's folder (test/servers/etcd-X.Y). */
  readonly dir: string;
  /** The exact release its go.mod pins, e.g. `3.6.17`. */
  readonly version: string;
  /** Where the built binary lives: the cache folder, the version and a hash of the module's files. */
  readonly binary: string;
}

const root = resolve(import.meta.dirname, '..');

export function isBuiltLine(line: string): line is BuiltLine {
  return (BUILT_LINES as readonly string[]).includes(line);
}

/** `ETCD_FETCH_CACHE`, else `~/.cache/etcd-fetch` (not under node_modules, which `npm ci` wipes). */
export function cacheDir(): string {
  return process.env.ETCD_FETCH_CACHE || join(homedir(), '.cache', 'etcd-fetch');
}

export function serverModule(line: BuiltLine): ServerModule {
  const dir = join(root, 'test', 'servers', `etcd-${line}`);
  const files = ['go.mod', 'go.sum', 'main.go'].map((name) => readFileSync(join(dir, name)));
  const pinned = /^\s*(?:require\s+)?go\.etcd\.io\/etcd\/server\/v3 v(\S+)/m.exec(files[0]!.toString('utf8'))?.[1];
  if (pinned === undefined) throw new Error(`${dir}/go.mod does not require go.etcd.io/etcd/server/v3`);
  const hash = createHash('sha256');
  for (const file of files) hash.update(file);
  const digest = hash.digest('hex').slice(0, 12);
  return { line, dir, version: pinned, binary: join(cacheDir(), `etcd-${pinned}-${digest}`) };
}

/** The built binary of `line`, when it is in the cache. */
export function builtEtcd(line: BuiltLine): string | undefined {
  const { binary } = serverModule(line);
  return existsSync(binary) ? binary : undefined;
}

/** Go: `GO_BIN`, then PATH, then Go's usual install folder. */
export function findGo(): string | undefined {
  if (process.env.GO_BIN) return process.env.GO_BIN;
  const which = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim();
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined;
}

/**
 * Builds `line` into the cache unless it is there, printing progress; returns the binary's path.
 * Runs `go build` at the lowest CPU priority (the machine is shared) with `-mod=readonly`, so the
 * committed go.sum is what gets built. Older builds of the same line are removed.
 */
export function ensureBuilt(line: BuiltLine, log: (message: string) => void = console.error): string {
  const module = serverModule(line);
  return goBuild(module.dir, module.binary, `etcd ${module.version}`, `etcd-${line}.`, log);
}

/**
 * Go's own etcd client (go.etcd.io/etcd/client/v3 and its concurrency and recipe packages) as a
 * program the interop tests drive: test/interop/go, built like the servers, keyed by a hash of its
 * files.
 */
export function interopDriver(): { dir: string; clientVersion: string; binary: string } {
  const dir = join(root, 'test', 'interop', 'go');
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.go') || name === 'go.mod' || name === 'go.sum')
    .sort();
  const hash = createHash('sha256');
  for (const name of names)
    hash
      .update(name)
      .update('\0')
      .update(readFileSync(join(dir, name)))
      .update('\0');
  const mod = readFileSync(join(dir, 'go.mod'), 'utf8');
  const pinned = /^\s*(?:require\s+)?go\.etcd\.io\/etcd\/client\/v3 v(\S+)/m.exec(mod)?.[1];
  if (pinned === undefined) throw new Error(`${dir}/go.mod does not require go.etcd.io/etcd/client/v3`);
  const binary = join(cacheDir(), `go-interop-${pinned}-${hash.digest('hex').slice(0, 12)}`);
  return { dir, clientVersion: pinned, binary };
}

/** Builds the interop driver into the cache unless it is there; returns the binary's path. */
export function ensureInteropDriver(log: (message: string) => void = console.error): string {
  const driver = interopDriver();
  return goBuild(
    driver.dir,
    driver.binary,
    `the Go interop driver (client ${driver.clientVersion})`,
    'go-interop-',
    log,
  );
}

/**
 * `go build` of the module in `dir` into `binary` unless it exists; older binaries whose names
 * start with `stale` are removed after a build.
 */
function goBuild(dir: string, binary: string, what: string, stale: string, log: (message: string) => void): string {
  if (existsSync(binary)) return binary;
  const go = findGo();
  if (go === undefined) {
    throw new Error(`Go is needed to build ${what} (${dir}): install Go, or set GO_BIN to its go command`);
  }
  mkdirSync(cacheDir(), { recursive: true });
  log(
    `building ${what} from its Go module into ${cacheDir()} (the first build downloads modules and may take minutes) ...`,
  );
  const started = performance.now();
  const partial = `${binary}.partial-${process.pid}`;
  const goArgs = ['build', '-trimpath', '-mod=readonly', '-buildvcs=false', '-o', partial, '.'];
  const nice = existsSync('/usr/bin/nice') ? '/usr/bin/nice' : undefined;
  const build = spawnSync(nice ?? go, nice ? ['-n', '19', go, ...goArgs] : goArgs, {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (build.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`building ${what} failed (go build in ${dir} exited with ${build.status ?? build.signal})`);
  }
  renameSync(partial, binary);
  for (const name of readdirSync(cacheDir())) {
    const other = join(cacheDir(), name);
    if (name.startsWith(stale) && other !== binary && !name.includes('.partial-')) rmSync(other, { force: true });
  }
  log(`built ${what} in ${((performance.now() - started) / 1000).toFixed(0)} s: ${binary}`);
  return binary;
}
