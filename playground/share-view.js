// The read-only live view a shared link opens (view.html?view=<token>): the prefix's keys from
// the playground server (/share/keys), then its changes through the server's SSE relay
// (/share/events, read with `subscribe`, which resumes by itself). This page holds no etcd
// endpoint, credential or token, and talks only to the server that served it.
import { subscribe } from '/dist/etcd-fetch.browser.js';
import { $, el, formatSize, keyLabel, note, show, strictText } from './dom.js';
import { initTheme } from './theme.js';

const rows = new Map(); // key label -> { key, value, size, modRevision }
let prefix = '';

const bytes = (base64) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

function valueText(value, size) {
  const text = strictText(value);
  const shown = text === undefined ? `(binary, ${formatSize(size)})` : text;
  return size > value.length ? `${shown}… (${formatSize(size)})` : shown;
}

function render() {
  const sorted = [...rows.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  $('#share-rows').replaceChildren(
    ...sorted.map((row) =>
      el(
        'tr',
        { dataset: { key: row.label, revision: String(row.modRevision) } },
        el('td', {}, el('code', { textContent: row.label.slice(prefix.length) || row.label })),
        el('td', {}, el('code', { textContent: valueText(row.value, row.size) })),
        el('td', { textContent: String(row.modRevision) }),
      ),
    ),
  );
  $('#share-count').textContent = `${rows.size.toLocaleString('en')} key${rows.size === 1 ? '' : 's'}`;
}

async function main() {
  initTheme();
  const token = new URL(location.href).searchParams.get('view') ?? '';
  const message = $('#share-message');
  const answer = await fetch(`/share/keys?view=${encodeURIComponent(token)}`);
  if (!answer.ok) {
    const { error } = await answer.json().catch(() => ({ error: `HTTP ${answer.status}` }));
    show('not available', 'error');
    note(message, error, 'error');
    document.body.dataset.state = 'refused';
    return;
  }
  const snapshot = await answer.json();
  prefix = keyLabel(bytes(snapshot.prefix));
  $('#share-prefix').textContent = prefix || '(all keys)';
  for (const kv of snapshot.kvs) {
    const key = bytes(kv.key);
    rows.set(keyLabel(key), {
      label: keyLabel(key),
      value: bytes(kv.value),
      size: kv.size,
      modRevision: kv.modRevision,
    });
  }
  render();
  if (snapshot.more) note(message, `the first ${snapshot.kvs.length} keys (and their changes) are shown`, 'off');
  const url = new URL('/share/events', location.href);
  url.searchParams.set('view', token);
  url.searchParams.set('startRevision', String(snapshot.revision + 1));
  const events = subscribe(url, {
    onReady: () => {
      show(`live, as of revision ${snapshot.revision}`);
      document.body.dataset.state = 'live';
    },
    onReconnect: () => show('reconnecting…', 'pending'),
  });
  for await (const event of events) {
    const label = keyLabel(event.kv.key);
    if (event.type === 'delete') rows.delete(label);
    else
      rows.set(label, {
        label,
        value: event.kv.value.subarray(0, 1_024),
        size: event.kv.value.length,
        modRevision: event.revision,
      });
    render();
    show(`live, revision ${event.revision}`);
  }
}

main().catch((error) => {
  show(`the view stopped: ${error?.message ?? error}`, 'error');
  document.body.dataset.state = 'error';
});
