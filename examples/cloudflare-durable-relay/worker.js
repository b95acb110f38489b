// A Cloudflare worker that relays etcd watches to browsers as Server-Sent Events with ONE upstream
// etcd watch per topic, however many browsers follow it. In a worker, a request cannot use a
// connection another request opened, so requests cannot share a watch; a Durable Object can: the
// worker routes every subscriber of a topic to that topic's object, which owns one etcd client
// and one relay pool, so the relay hub inside it opens one watch and fans it out to all of them
// (each event encoded once, recent ones kept for `Last-Event-ID` resumes).
//
// GET /events/<topic> watches the keys under `${WATCH_PREFIX}<topic>/`.
// Bindings: RELAY_ROOMS (the Durable Object namespace of RelayRoom), ETCD_ENDPOINT, WATCH_PREFIX,
// ALLOW_ORIGIN (the one origin whose pages may read it), RELAY_SECRET (signs event ids), and
// optionally ETCD_USERNAME / ETCD_PASSWORD (secrets). Anyone who reaches it may watch: put it
// behind your sessions (relayWatch's `authorize` option).
import { DurableObject } from 'cloudflare:workers';
import { Etcd } from 'etcd-fetch';
import { RelayPool, relayWatch } from 'etcd-fetch/relay';

const TOPIC = /^\/events\/([a-z0-9-]{1,64})$/;

const corsHeaders = (env) => ({ 'access-control-allow-origin': env.ALLOW_ORIGIN, vary: 'origin' });

export default {
  async fetch(request, env) {
    if (request.method === 'OPTIONS') {
      return new Response(null, {
        status: 204,
        headers: {
          ...corsHeaders(env),
          'access-control-allow-headers': 'last-event-id',
          'access-control-allow-methods': 'GET',
        },
      });
    }
    const topic = TOPIC.exec(new URL(request.url).pathname)?.[1];
    if (request.method !== 'GET' || topic === undefined)
      return new Response('not found\n', { status: 404, headers: corsHeaders(env) });
    // The same name, the same object, wherever the subscriber connects.
    const room = env.RELAY_ROOMS.get(env.RELAY_ROOMS.idFromName(topic));
    return room.fetch(request);
  },
};

/** One topic's relay: the etcd client, the shared upstream watch and its subscribers live here. */
export class RelayRoom extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.etcd = new Etcd({
      endpoints: env.ETCD_ENDPOINT,
      auth: env.ETCD_USERNAME ? { username: env.ETCD_USERNAME, password: env.ETCD_PASSWORD } : undefined,
    });
    // The pool's hub keeps the watch open 1 s after the last subscriber left (`linger`).
    this.pool = new RelayPool();
  }

  async fetch(request) {
    const topic = TOPIC.exec(new URL(request.url).pathname)[1];
    return relayWatch(
      this.etcd,
      request,
      { prefix: `${this.env.WATCH_PREFIX}${topic}/` },
      {
        pool: this.pool,
        // Requests routed to one Durable Object may share what it opened (unlike a worker's).
        shared: true,
        headers: corsHeaders(this.env),
        resumeSecret: this.env.RELAY_SECRET,
      },
    );
  }
}
