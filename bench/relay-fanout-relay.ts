// The relay process of cases/relay-fanout.ts: `node bench/relay-fanout-relay.ts <endpoint> <hub|own>`.
// Serves `GET /events?prefix=P` with relayWatch on one Etcd client (the hub shares one upstream
// watch per prefix; `own`: `shared: false`, a watch per client) over node:http, prints its port as
// JSON, and answers `GET /stats` with the watch streams it opened and its peak RSS.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Etcd, RelayPool, relayWatch } from 'etcd-fetch';

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

/** The relay's memory now, by kind (RSS counts Node's native memory too: sockets, parsers, buffers). */
function memoryInMB(): Record<string, number> {
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;
  return {
    heapUsedMB: mb(heapUsed),
    heapTotalMB: mb(heapTotal),
    externalMB: mb(external),
    arrayBuffersMB: mb(arrayBuffers),
  };
}

async function relay(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
  const url = new URL(incoming.url ?? '/', 'http://relay.bench');
  if (url.pathname === '/stats') {
    outgoing.end(
      JSON.stringify({
        cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
        ...memoryInMB(),
        streams,
        rssMB: Math.max(peakRss, process.memoryUsage.rss()) / 1024 / 1024,
        upstreams: pool.upstreams,
      }),
    );
    return;
  }
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
const server = createServer((incoming, outgoing) => void relay(incoming, outgoing));
server.listen({ port: 0, host: '127.0.0.1', backlog: 4_096 }, () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
