// Connection and login: one `Etcd` client for the page, rebuilt on every Connect.
// The panels listen to `session` for:
//   'connected'  a new client is ready (detail: { etcd, revision })
//   'change'     one key changed (detail: { type: 'put' | 'delete', key: Uint8Array, kv?, revision, local? })
//   'refresh'    many keys may have changed: re-read what you show
//   'select'     a key was picked in the tree (detail: { key: Uint8Array })
//   'browse'     the tree shows another prefix (detail: { prefix: string })
// The header's status follows every call the client makes: it says so when etcd stops answering
// or when authentication was enabled under the page, and comes back when calls succeed again.
import { Etcd } from '/dist/etcd-fetch.browser.js';
import { $, describeError, onSubmit, show } from './dom.js';
import { initProfiles } from './profiles.js';

class Session extends EventTarget {
  /** The current client (undefined until the first Connect). */
  etcd = undefined;
  endpoints = [];
  username = '';
  /** Watches go through the playground server's SSE relay instead of etcd. */
  relay = false;
  /** A live watch is keeping the panels up to date (set by the watch panel). */
  watching = false;

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Tells every panel about a write this page made (a watch would also report it). */
  changed(type, key, revision, kv) {
    this.emit('change', { type, key, kv, revision, local: true });
  }
}

export const session = new Session();

let health = 'ok';
let connectedText = '';

function setHealth(next, detail) {
  if (next === health && next === 'ok') return;
  health = next;
  document.body.dataset.health = next;
  if (next === 'ok') show(connectedText);
  else if (next === 'auth')
    show('authentication is enabled on this cluster: log in with a user name and password', 'error');
  else show(`etcd is not answering (${detail}); still trying…`, 'error');
}

/** `fetch`, watched: every answer or failure tells the header how the connection is. */
function observedFetch(client) {
  return async (request, init) => {
    try {
      const response = await fetch(request, init);
      if (session.etcd !== client) return response;
      if (response.ok) setHealth('ok');
      else if (response.status >= 400 && response.status < 500) {
        const body = await response
          .clone()
          .text()
          .catch(() => '');
        if (/user name is empty|invalid auth token|token is not provided/.test(body) && !session.username)
          setHealth('auth');
      }
      return response;
    } catch (error) {
      const aborted = error?.name === 'AbortError' || init?.signal?.aborted || request.signal?.aborted;
      if (!aborted && session.etcd === client) setHealth('down', error?.message ?? String(error));
      throw error;
    }
  };
}

/** Builds a client for the form's endpoints and credentials and checks that it answers. */
export async function connect() {
  const endpoints = $('#endpoints')
    .value.split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const username = $('#username').value.trim();
  const password = $('#password').value;
  const holder = {};
  const etcd = new Etcd({
    endpoints,
    timeout: 5_000,
    fetch: (request, init) => holder.fetch(request, init),
    ...(username ? { auth: { username, password } } : {}),
  });
  holder.fetch = observedFetch(etcd);
  show('connecting…', 'pending');
  let revision;
  try {
    ({ revision } = await etcd.range({ prefix: '' }, { countOnly: true }));
  } catch (error) {
    // etcd 3.4 answers "user name is empty" (code 3) when auth is on and no token was sent.
    const hint =
      !username && /user name is empty/.test(String(error?.message))
        ? ': auth is enabled, log in with a user name and password'
        : '';
    show(`${describeError(error)}${hint}`, 'error');
    document.body.dataset.connected = 'false';
    throw error;
  }
  session.etcd?.close();
  session.etcd = etcd;
  session.endpoints = endpoints;
  session.username = username;
  session.relay = $('#relay-mode').checked;
  health = 'ok';
  document.body.dataset.health = 'ok';
  connectedText = `connected to ${endpoints.join(', ')}${username ? ` as ${username}` : ''}${session.relay ? ' (watching through the relay)' : ''}`;
  show(connectedText);
  document.body.dataset.connected = 'true';
  session.emit('connected', { etcd, revision });
}

export async function initConnection() {
  onSubmit($('#connect'), () => connect().catch(() => {}));
  initProfiles(() => connect().catch(() => {}));
  const config = await fetch('/config.json')
    .then((r) => r.json())
    .catch(() => ({ endpoints: ['http://127.0.0.1:2379'] }));
  if (!$('#endpoints').value) $('#endpoints').value = config.endpoints.join(',');
  await connect().catch(() => {});
}
