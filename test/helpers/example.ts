// The examples run as a user would run them: each copied out of the repository into a scratch
// folder whose node_modules/etcd-fetch is the packed tarball, unpacked (never src/ or dist/).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';

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
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8' })) as [{ filename: string }];
  unpacked = join(scratch, 'package');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', join(scratch, packed.filename), '-C', unpacked, '--strip-components=1']);
  return unpacked;
}

/** A copy of `examples/<name>` with the unpacked tarball installed as node_modules/etcd-fetch. */
export function exampleCopy(name: string): string {
  const from = packedPackage();
  const folder = join(scratch!, name);
  cpSync(join(root, 'examples', name), folder, { recursive: true });
  cpSync(from, join(folder, 'node_modules', 'etcd-fetch'), { recursive: true });
  return folder;
}

/** Runs a command in `cwd`; resolves with its output, rejects with it on a non-zero exit or after `timeoutMs`. */
export function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRun(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves a folder's files on localhost (another origin than etcd's 127.0.0.1). */
export async function serveFolder(folder: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    let path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(folder, path));
    if (!file.startsWith(folder) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
