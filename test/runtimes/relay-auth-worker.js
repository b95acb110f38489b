// The relay behind an auth check: a Cloudflare worker that lets through only requests carrying a
// token it signed (HMAC-SHA256 with WebCrypto), as `Authorization: Bearer <token>` (fetch,
// `subscribe`) or as a `relay_session` cookie (a native EventSource on the same site), and
// answers CORS for one origin. A token is `<user>.<expiry in Unix seconds>.<signature>`, issued
// by your login endpoint with the same secret. Bindings: ETCD_ENDPOINT, WATCH_PREFIX,
// ALLOW_ORIGIN, AUTH_SECRET and RELAY_SECRET (secrets), ETCD_USERNAME / ETCD_PASSWORD (optional).
import { Etcd, relayWatch } from './etcd-fetch.browser.js';

export default {
  async fetch(request, env) {
    const cors = corsHeaders(request, env.ALLOW_ORIGIN);
    if (request.method === 'OPTIONS') {
      if (!cors['access-control-allow-origin']) return new Response(null, { status: 403, headers: { vary: 'origin' } });
      return new Response(null, {
        status: 204,
        headers: {
          ...cors,
          'access-control-allow-headers': 'authorization, last-event-id',
          'access-control-allow-methods': 'GET',
          'access-control-max-age': '600',
        },
      });
    }
    if (request.method !== 'GET' || new URL(request.url).pathname !== '/events')
      return new Response('not found', { status: 404, headers: cors });
    const etcd = new Etcd({
      endpoints: env.ETCD_ENDPOINT,
      auth: env.ETCD_USERNAME ? { username: env.ETCD_USERNAME, password: env.ETCD_PASSWORD } : undefined,
    });
    return relayWatch(
      etcd,
      request,
      { prefix: env.WATCH_PREFIX },
      {
        headers: cors,
        resumeSecret: env.RELAY_SECRET,
        authorize: async (req) =>
          (await verifyToken(tokenOf(req), env.AUTH_SECRET))
            ? true
            : new Response('unauthorized\n', { status: 401, headers: { ...cors, 'www-authenticate': 'Bearer' } }),
      },
    );
  },
};

/** CORS for the one allowed origin; other origins get no `Access-Control-Allow-Origin` at all. */
function corsHeaders(request, allowed) {
  const headers = { vary: 'origin' };
  if (allowed && request.headers.get('origin') === allowed) {
    headers['access-control-allow-origin'] = allowed;
  }
  return headers;
}

function tokenOf(request) {
  const bearer = /^Bearer ([\w.-]+)$/.exec(request.headers.get('authorization') ?? '');
  if (bearer) return bearer[1];
  const cookie = /(?:^|;\s*)relay_session=([\w.-]+)/.exec(request.headers.get('cookie') ?? '');
  return cookie?.[1];
}

/** True for `<user>.<expiry>.<signature>` signed with `secret` and not expired. */
async function verifyToken(token, secret) {
  const [user, expiry, signature] = token?.split('.') ?? [];
  if (!user || !/^\d+$/.test(expiry ?? '') || !signature || !secret) return false;
  if (Number(expiry) * 1000 < Date.now()) return false;
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  let mac;
  try {
    mac = Uint8Array.from(atob(signature.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  // verify() compares in constant time.
  return crypto.subtle.verify('HMAC', key, mac, new TextEncoder().encode(`${user}.${expiry}`));
}
