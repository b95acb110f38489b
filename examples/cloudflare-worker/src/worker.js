// A Cloudflare worker that relays a prefix's changes to browsers as Server-Sent Events, behind an
// auth check. Bindings: ETCD_ENDPOINTS (+ ETCD_USERNAME/ETCD_PASSWORD or ETCD_TOKEN), WATCH_PREFIX,
// and two secrets: API_TOKEN (what clients send as `Authorization: Bearer ...`) and RELAY_SECRET.
import { Etcd, optionsFromEnv } from 'etcd-fetch';
import { relayWatch } from 'etcd-fetch/relay';

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname !== '/events') return new Response('not found\n', { status: 404 });
    // One client per request: a worker's request cannot use connections another request opened.
    const etcd = new Etcd(optionsFromEnv(env));
    return relayWatch(
      etcd,
      request,
      { prefix: env.WATCH_PREFIX },
      {
        resumeSecret: env.RELAY_SECRET, // signs event ids, so a client resumes only where it was
        authorize: async (req) =>
          (await hasToken(req, env.API_TOKEN)) ||
          new Response('unauthorized\n', { status: 401, headers: { 'www-authenticate': 'Bearer' } }),
      },
    );
  },
};

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
async function hasToken(request, token) {
  const given = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  if (!token || !given) return false;
  const digest = (text) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return crypto.subtle.timingSafeEqual(await digest(given), await digest(token));
}
