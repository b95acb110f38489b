// `npm start`: a throwaway etcd with CORS, and the playground dashboard served on localhost.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { Etcd } from 'etcd-fetch';
import { relayWatch } from 'etcd-fetch/relay';
import { type EtcdServer, freePort, startEtcd } from './etcd.ts';
import { closeSignal, fetchHeaders, sendAnswer } from './node-http-bridge.ts';
import { answerShare, ShareLinks } from './playground-share.ts';

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
 * playground's relay mode reads its watches there); `/etcd-metrics` passes on etcd's `/metrics`;
 * `/share`, `/share/keys` and `/share/events` serve the read-only live views of one prefix that the
 * playground shares by link (playground-share.ts; `PLAYGROUND_SHARE_SECRET` keeps links valid across restarts).
 */
export async function startPlayground(
  options: { port?: number; etcdEndpoint?: string; etcdArgs?: string[] } = {},
): Promise<Playground> {
  const etcd = options.etcdEndpoint ? undefined : await startEtcd({ args: options.etcdArgs });
  const etcdEndpoint = options.etcdEndpoint ?? etcd!.endpoint;
  const relayClient = new Etcd({ endpoints: etcdEndpoint });
  const shares = new ShareLinks(process.env.PLAYGROUND_SHARE_SECRET);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/relay') {
      void relay(relayClient, url, request, response);
      return;
    }
    if (url.pathname === '/etcd-metrics') {
      void passMetrics(etcdEndpoint, response);
      return;
    }
    if (url.pathname === '/share' || url.pathname.startsWith('/share/')) {
      void answerShare(relayClient, shares, url, request, response);
      return;
    }
    if (url.pathname === '/config.json') {
      response.writeHead(200, { 'content-type': types['.json'], 'cache-control': 'no-store' });
      response.end(JSON.stringify({ endpoints: [etcdEndpoint] }));
      return;
    }
    const file = servedFile(url.pathname);
    if (file === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    response.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    createReadStream(file)
      .on('error', () => response.destroy())
      .pipe(response);
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

/**
 * The file a URL path names: `/dist/...` in `dist/`, anything else in `playground/`, or undefined
 * when it is not a file inside that folder. The path is decoded first (`..%2F` is `../`), then
 * resolved, then checked against the folder with a separator (a sibling `playground-x/` is outside).
 */
export function servedFile(pathname: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  const inDist = path === '/dist' || path.startsWith('/dist/');
  const base = join(root, inDist ? 'dist' : 'playground');
  const rest = inDist ? path.slice('/dist'.length) : path;
  const file = resolve(base, `.${sep}${rest === '/' || rest === '' ? (inDist ? '' : 'index.html') : rest}`);
  if (!file.startsWith(base + sep)) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Answers `/relay` with `relayWatch` (a Node request in, a fetch Response streamed out). A bad
 * `startRevision` (or prefix, or Last-Event-ID) is the relay's 400, never a crash.
 */
async function relay(etcd: Etcd, url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const prefix = Buffer.from(url.searchParams.get('prefix') ?? '', 'base64');
  const sent = url.searchParams.get('startRevision');
  // Passed on as sent (a number or NaN): the relay checks it.
  const startRevision = sent === null || sent === '' ? undefined : Number(sent);
  try {
    const answer = await relayWatch(
      etcd,
      new Request(url, { headers: fetchHeaders(request), signal: closeSignal(response) }),
      { prefix: new Uint8Array(prefix) },
      { startRevision, heartbeat: 5_000 },
    );
    sendAnswer(answer, response);
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    response.writeHead(500, { 'content-type': 'text/plain' });
    response.end(String(error));
  }
}

/**
 * Answers `/etcd-metrics` with the GET `/metrics` of the etcd this playground was started with
 * (never another host: the path takes no address), for the metrics panel when etcd's own answer
 * is not readable across origins.
 */
async function passMetrics(etcdEndpoint: string, response: ServerResponse): Promise<void> {
  try {
    const answer = await fetch(new URL('/metrics', etcdEndpoint), { signal: AbortSignal.timeout(5_000) });
    response.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    response.end(await answer.text());
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    response.writeHead(502, { 'content-type': 'text/plain' });
    response.end(`etcd's /metrics did not answer: ${String(error)}`);
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
