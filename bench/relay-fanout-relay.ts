// The relay process of cases/relay-fanout.ts: `node --expose-gc bench/relay-fanout-relay.ts <endpoint> <lean|stream|own>`.
// Serves `GET /events?prefix=P` on one Etcd client over node:http: `lean` with relayWatchNode
// (bytes written straight to each socket), `stream` with relayWatch and its Web stream pumped into
// the socket one chunk at a time (the path before relayWatchNode), `own` the same with
// `shared: false` (a watch per client). Prints its port as JSON, and answers `GET /stats` with its
// CPU time, heap (after a full GC with `?gc=1`), the watch streams it opened and its peak RSS.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Etcd } from 'etcd-fetch';
import { RelayPool, relayWatch, relayWatchNode } from 'etcd-fetch/relay';

const [endpoint, mode] = process.argv.slice(2);
let streams = 0;
const etcd = new Etcd({
  endpoints: [endpoint!],
  fetch: (request, init) => {
    if (new URL(request.url).pathname.endsWith('/v3/watch')) streams++;
    return fetch(request, init);
  },
});
const pool = new RelayPool();
let peakRss = process.memoryUsage.rss();
setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100).unref();

const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;

function stats(gc: boolean): string {
  const { user, system } = process.cpuUsage();
  // CPU before the GC asked for: the case measures CPU and heap with separate calls.
  const cpuMs = (user + system) / 1000;
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, external, arrayBuffers } = process.memoryUsage();
  return JSON.stringify({
    cpuMs,
    heapUsedBytes: heapUsed,
    heapUsedMB: mb(heapUsed),
    externalMB: mb(external),
    arrayBuffersMB: mb(arrayBuffers),
    streams,
    rssMB: mb(Math.max(peakRss, process.memoryUsage.rss())),
    upstreams: pool.upstreams,
  });
}

/** The path before relayWatchNode: a Response whose Web stream is pumped into the socket. */
async function viaStream(incoming: IncomingMessage, outgoing: ServerResponse, url: URL): Promise<void> {
  const gone = new AbortController();
  outgoing.on('close', () => gone.abort());
  const request = new Request(url, { headers: incoming.headers as Record<string, string>, signal: gone.signal });
  const response = await relayWatch(
    etcd,
    request,
    { prefix: url.searchParams.get('prefix')! },
    { pool, shared: mode !== 'own' },
  );
  outgoing.writeHead(response.status, Object.fromEntries(response.headers));
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || gone.signal.aborted) break;
      // One write at a time: what comes meanwhile waits in the relay, which hands it over as one
      // chunk, instead of thousands of small writes queued in Node's socket buffers.
      await new Promise((resolve) => outgoing.write(value, resolve));
    }
  } catch {
    // the subscriber went away
  } finally {
    void reader.cancel().catch(() => {});
    outgoing.end();
  }
}

process.once('SIGINT', () => process.exit(0));
const server = createServer((incoming, outgoing) => {
  const url = new URL(incoming.url ?? '/', 'http://relay.bench');
  if (url.pathname === '/stats') return void outgoing.end(stats(url.searchParams.has('gc')));
  if (mode === 'lean') {
    void relayWatchNode(etcd, incoming, outgoing, { prefix: url.searchParams.get('prefix')! }, { pool });
  } else {
    void viaStream(incoming, outgoing, url);
  }
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4_096 }, () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
