// Connection and login: one `Etcd` client for the page, rebuilt on every Connect.
// The panels listen to `session` for:
//   'connected'  a new client is ready (detail: { etcd, revision })
//   'change'     one key changed (detail: { type: 'put' | 'delete', key: Uint8Array, kv?, revision })
//   'refresh'    many keys may have changed: re-read what you show
//   'select'     a key was picked in the tree (detail: { key: Uint8Array })
//   'browse'     the tree shows another prefix (detail: { prefix: string })
import { Etcd } from '/dist/etcd-fetch.browser.js';
import { $, describeError, onSubmit, show } from './dom.js';

class Session extends EventTarget {
  /** The current client (undefined until the first Connect). */
  etcd = undefined;
  endpoints = [];
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

/** Builds a client for the form's endpoints and credentials and checks that it answers. */
export async function connect() {
  const endpoints = $('#endpoints').value.split(',').map((e) => e.trim()).filter(Boolean);
  const username = $('#username').value.trim();
  const password = $('#password').value;
  const etcd = new Etcd({ endpoints, timeout: 5_000, ...(username ? { auth: { username, password } } : {}) });
  show('connecting…', 'pending');
  let revision;
  try {
    ({ revision } = await etcd.range({ prefix: '', countOnly: true }));
  } catch (error) {
    // etcd 3.4 answers "user name is empty" (code 3) when auth is on and no token was sent.
    const hint = !username && /user name is empty/.test(String(error?.message)) ? ': auth is enabled, log in with a user name and password' : '';
    show(`${describeError(error)}${hint}`, 'error');
    throw error;
  }
  session.etcd = etcd;
  session.endpoints = endpoints;
  show(`connected to ${endpoints.join(', ')}${username ? ` as ${username}` : ''}`);
  document.body.dataset.connected = 'true';
  session.emit('connected', { etcd, revision });
}

export async function initConnection() {
  onSubmit($('#connect'), () => connect().catch(() => {}));
  const config = await fetch('/config.json')
    .then((r) => r.json())
    .catch(() => ({ endpoints: ['http://127.0.0.1:2379'] }));
  $('#endpoints').value = config.endpoints.join(',');
  await connect().catch(() => {});
}
