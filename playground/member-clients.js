// One client per member, for calls that must reach that member only (status, defragment).
// When the transport's per-call `endpoint` option is exposed on these calls, this is the one
// place to switch to it.
import { Etcd } from '/dist/etcd-fetch.browser.js';

const clients = new Map(); // client URLs -> Etcd asking that member only

export function memberClient(urls) {
  const key = urls.join(',');
  if (!clients.has(key)) clients.set(key, new Etcd({ endpoints: urls, timeout: 5_000 }));
  return clients.get(key);
}

export function forgetMemberClients() {
  for (const client of clients.values()) client.close();
  clients.clear();
}
