// `npm start`: a throwaway etcd with CORS, and the playground dashboard served on localhost.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Etcd, relayWatch } from 'etcd-fetch';
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

/**
 * Serves `playground/` at `/` and the built `dist/` at `/dist/`; `/config.json` names the etcd
 * endpoint; `/relay?prefix=<base64>&startRevision=<n>` is an SSE relay of that prefix (the
 * playground's relay mode reads its watches there).
 */
export async function startPlayground(options: { port?: number; etcdEndpoint?: string; etcdArgs?: string[] } = {}): Promise<Playground> {
  const etcd = options.etcdEndpoint ? undefined : await startEtcd({ args: options.etcdArgs });
  const etcdEndpoint = options.etcdEndpoint ?? etcd!.endpoint;
  const relayClient = new Etcd({ endpoints: etcdEndpoint });
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    if (path === '/relay') {
      void relay(relayClient, url, request, response);
      return;
    }
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
      relayClient.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await etcd?.stop();
    },
  };
}

/** Answers `/relay` with `relayWatch` (a Node request in, a fetch Response streamed out). */
async function relay(etcd: Etcd, url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const abort = new AbortController();
  response.on('close', () => abort.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers.set(name, value);
  const prefix = Buffer.from(url.searchParams.get('prefix') ?? '', 'base64');
  const startRevision = Number(url.searchParams.get('startRevision')) || undefined;
  try {
    const answer = await relayWatch(etcd, new Request(url, { headers, signal: abort.signal }), { prefix: new Uint8Array(prefix) }, { startRevision, heartbeat: 5_000 });
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    if (!answer.body) return void response.end();
    Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream).on('error', () => response.destroy()).pipe(response);
  } catch (error) {
    response.writeHead(500, { 'content-type': 'text/plain' });
    response.end(String(error));
  }
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
