// A relay served over node:http as an application would write it, run as its own process by the
// hostile-request test: it installs no `unhandledRejection` handler, so one would end it (exit 1).
// The keys and start revision come straight from the query (`prefix`, `key`, `from`, `to`,
// `startRevision`, `shared=0`), the way an app passes what a page asks for. `/signed` adds a
// resumeSecret. Prints `listening <port>` once it listens.
import { createServer } from 'node:http';
import { Etcd } from 'etcd-fetch';
import { relayWatch } from 'etcd-fetch/relay';
import { closeSignal, fetchHeaders, sendAnswer } from '../../scripts/node-http-bridge.ts';

const etcd = new Etcd({ endpoints: process.env.ETCD_ENDPOINT! });
const SECRET = 'a relay secret of at least thirty-two characters';

const server = createServer(async (request, response) => {
  const url = new URL(request.url ?? '/', 'http://relay.local');
  if (url.pathname !== '/events' && url.pathname !== '/signed') {
    response.writeHead(404).end();
    return;
  }
  if (!['GET', 'HEAD', 'POST'].includes(request.method ?? '')) {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const query = url.searchParams;
  const selector = Object.fromEntries(
    ['prefix', 'key', 'from', 'to'].filter((name) => query.has(name)).map((name) => [name, query.get(name)]),
  );
  try {
    const answer = await relayWatch(
      etcd,
      new Request(url, {
        method: request.method === 'HEAD' ? 'GET' : request.method,
        headers: fetchHeaders(request),
        signal: closeSignal(response),
      }),
      selector as never,
      {
        startRevision: query.has('startRevision') ? Number(query.get('startRevision')) : undefined,
        shared: query.get('shared') !== '0',
        heartbeat: 1_000,
        resumeSecret: url.pathname === '/signed' ? SECRET : undefined,
      },
    );
    sendAnswer(answer, response);
  } catch (error) {
    // Only the app's own mistakes may land here: the test counts these 500s.
    response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  }
});
// Short enough for the slow-loris requests to be cut while the test runs.
server.headersTimeout = 3_000;
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
