// `npm start`: a throwaway etcd with CORS, and the playground dashboard served on localhost.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { type EtcdServer, freePort, startEtcd } from './etcd.ts';

const root = resolve(import.meta.dirname, '..');
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

export interface Playground {
  url: string;
  etcdEndpoint: string;
  /** The throwaway etcd this playground started (undefined when given an endpoint). */
  etcd: EtcdServer | undefined;
  close(): Promise<void>;
}

/** Serves `playground/` at `/` and the built `dist/` at `/dist/`; `/config.json` names the etcd endpoint. */
export async function startPlayground(options: { port?: number; etcdEndpoint?: string; etcdArgs?: string[] } = {}): Promise<Playground> {
  const etcd = options.etcdEndpoint ? undefined : await startEtcd({ args: options.etcdArgs });
  const etcdEndpoint = options.etcdEndpoint ?? etcd!.endpoint;
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (path === '/config.json') {
      response.writeHead(200, { 'content-type': types['.json'], 'cache-control': 'no-store' });
      response.end(JSON.stringify({ endpoints: [etcdEndpoint] }));
      return;
    }
    const base = path.startsWith('/dist/') ? root : join(root, 'playground');
    const file = normalize(join(base, path === '/' ? 'index.html' : path));
    if (!file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(response);
  });
  const port = await listen(server, options.port ?? (await freePort()));
  return {
    url: `http://localhost:${port}/`,
    etcdEndpoint,
    etcd,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await etcd?.stop();
    },
  };
}

/** Listens on `port`, or on a free port when it is taken. */
function listen(server: ReturnType<typeof createServer>, port: number): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') return reject(error);
      server.listen(0, '127.0.0.1', () => resolveListen((server.address() as { port: number }).port));
    });
    server.listen(port, '127.0.0.1', () => resolveListen(port));
  });
}

if (import.meta.main) {
  if (!existsSync(join(root, 'dist', 'etcd-fetch.browser.js'))) {
    console.error('dist/ is missing: run `npm run build` first (npm start does it for you).');
    process.exit(1);
  }
  const playground = await startPlayground({
    port: Number(process.env.PORT) || 8080,
    etcdEndpoint: process.env.ETCD_ENDPOINTS?.split(',')[0],
  });
  console.log(`etcd:       ${playground.etcdEndpoint}`);
  console.log(`playground: ${playground.url}  (Ctrl-C stops both)`);
  const stop = () => void playground.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
