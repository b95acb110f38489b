// One of the relay processes of relay-scale-out.test.ts: `node relay-scale-server.ts <etcd endpoint> <ring events>`.
// Serves `GET /events?prefix=P` with relayWatchNode (the lean node:http path) and a resumeSecret
// shared by every relay process, so an id one wrote is honoured by the others. `GET /stats` says
// how many watch streams it opened to etcd and how many subscribers it served. Prints
// `listening <port>` once it listens.
import { createServer } from 'node:http';
import { Etcd } from 'etcd-fetch';
import { RelayPool, relayWatchNode } from 'etcd-fetch/relay';

const [endpoint, ringEvents] = process.argv.slice(2);
/** Shared by the relays of the test, as a deployment shares it through its secret store. */
const SECRET = 'the scale-out relays share this secret of 32+ characters';
let streams = 0;
let served = 0;
const etcd = new Etcd({
  endpoints: [endpoint!],
  fetch: (request, init) => {
    if (new URL(request.url).pathname.endsWith('/v3/watch')) streams++;
    return fetch(request, init);
  },
});
const pool = new RelayPool({ ringEvents: Number(ringEvents) });

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://relay.local');
  if (url.pathname === '/stats') return void response.end(JSON.stringify({ streams, served }));
  if (url.pathname !== '/events') return void response.writeHead(404).end();
  served++;
  void relayWatchNode(
    etcd,
    request,
    response,
    { prefix: url.searchParams.get('prefix') ?? '' },
    {
      pool,
      resumeSecret: SECRET,
      heartbeat: 1_000,
      retry: 100,
    },
  ).catch(() => response.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
