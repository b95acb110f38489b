// The relay example: a Cloudflare worker that holds the etcd credentials, watches one prefix and
// serves it to browsers as Server-Sent Events. Bindings: ETCD_ENDPOINT, WATCH_PREFIX, ALLOW_ORIGIN
// (the one origin whose pages may read it), RELAY_SECRET (a secret that signs event ids, so a
// client resumes only from where it was, across restarts of the worker too), and optionally
// ETCD_USERNAME / ETCD_PASSWORD (secrets). Anyone who reaches it may watch: put it behind your
// sessions (see relay-auth-worker.js).
import { Etcd, relayWatch } from './etcd-fetch.browser.js';

export default {
  async fetch(request, env) {
    const cors = { 'access-control-allow-origin': env.ALLOW_ORIGIN, vary: 'origin' };
    if (request.method === 'OPTIONS') {
      return new Response(null, {
        status: 204,
        headers: { ...cors, 'access-control-allow-headers': 'last-event-id', 'access-control-allow-methods': 'GET' },
      });
    }
    if (new URL(request.url).pathname !== '/events') return new Response('not found', { status: 404, headers: cors });
    // One client per request: workerd does not let one request use connections another opened.
    const etcd = new Etcd({
      endpoints: env.ETCD_ENDPOINT,
      auth: env.ETCD_USERNAME ? { username: env.ETCD_USERNAME, password: env.ETCD_PASSWORD } : undefined,
    });
    return relayWatch(etcd, request, { prefix: env.WATCH_PREFIX }, { headers: cors, resumeSecret: env.RELAY_SECRET });
  },
};
