// The live watch panel: events under a prefix stream in with their revision, and every panel
// hears of them (the tree updates itself). The client's watch resumes by itself after a broken
// connection (an etcd restart), from the revision after the last one seen.
import { session } from './connection.js';
import { $, describeError, el, keyLabel, note, onSubmit, strictText, utf8 } from './dom.js';

const MAX_ROWS = 200;
let controller; // aborts the running watch
let watched; // the client the running watch uses
let followTree = true; // the watch follows the tree's prefix until the user picks another one

function snippet(kv) {
  const decoded = strictText(kv.value);
  if (decoded === undefined) return `(${kv.value.length} binary bytes)`;
  return decoded.length > 80 ? `${decoded.slice(0, 80)}…` : decoded;
}

function log(event, prefix) {
  const list = $('#watch-events');
  const type = event.type === 'put' ? (event.kv.version === 1 ? 'create' : 'put') : 'delete';
  list.prepend(
    el(
      'li',
      { className: `event ${event.type}`, dataset: { key: keyLabel(event.kv.key), revision: String(event.revision) } },
      el('span', { className: 'rev', textContent: `rev ${event.revision}` }),
      el('span', { className: 'type', textContent: type.toUpperCase() }),
      el('code', { className: 'key', textContent: keyLabel(event.kv.key.subarray(prefix.length)) || '(the prefix itself)', title: keyLabel(event.kv.key) }),
      event.type === 'put' ? el('span', { className: 'value', textContent: snippet(event.kv) }) : undefined,
    ),
  );
  while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
}

function state(text, kind = 'ok') {
  note($('#watch-state'), text, kind);
  $('#watch-panel').dataset.state = kind === 'ok' ? 'watching' : kind;
}

/** Resolves with etcd's revision once it answers again (undefined when aborted). */
async function probe(etcd, prefix, signal) {
  while (!signal.aborted) {
    try {
      return (await etcd.range({ prefix, countOnly: true }, { signal, timeout: 1_500 })).revision;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return undefined;
}

export function stopWatch() {
  controller?.abort();
  controller = undefined;
  session.watching = false;
  $('#watch-stop').disabled = true;
}

/** Watches `prefix`, from `startRevision` (a replay of history) or from now. */
export async function startWatch(prefix = $('#watch-prefix').value, startRevision = undefined) {
  stopWatch();
  const etcd = session.etcd;
  if (!etcd) return;
  const mine = new AbortController();
  controller = mine;
  watched = etcd;
  $('#watch-prefix').value = prefix;
  $('#watch-stop').disabled = false;
  const label = `${prefix === '' ? 'every key' : `“${prefix}”`}${startRevision ? ` from revision ${startRevision}` : ''}`;
  let probing;
  const prefixBytes = utf8(prefix);
  const watch = etcd.watch({
    prefix,
    ...(startRevision ? { startRevision } : {}),
    signal: mine.signal,
    onReconnect: (info) => {
      state(`connection lost (${describeError(info.error)}); resuming from revision ${info.resumeRevision || 'now'}, attempt ${info.attempt}…`, 'pending');
      // The watch says nothing until the next event: probe etcd to tell the user when it is back.
      probing ??= probe(etcd, prefix, mine.signal).then((revision) => {
        probing = undefined;
        if (revision !== undefined && mine === controller) state(`watching ${label} (resumed; etcd is back at revision ${revision})`);
      });
    },
  });
  try {
    state(`starting a watch on ${label}…`, 'pending');
    await watch.ready;
    session.watching = true;
    state(`watching ${label}`);
    for await (const response of watch.responses()) {
      if (response.progress) continue;
      for (const event of response.events) {
        log(event, prefixBytes);
        session.emit('change', { type: event.type, key: event.kv.key, kv: event.kv, revision: event.revision });
      }
      state(`watching ${label}, at revision ${response.revision}`);
    }
  } catch (error) {
    if (mine.signal.aborted) return;
    state(`the watch ended: ${describeError(error)}`, 'error');
  } finally {
    if (controller === mine) stopWatch();
  }
}

export function initWatchPanel() {
  onSubmit($('#watch-form'), () => {
    followTree = $('#watch-prefix').value === $('#prefix').value;
    const from = Number($('#watch-from').value);
    return startWatch($('#watch-prefix').value, from > 0 ? from : undefined);
  });
  $('#watch-stop').addEventListener('click', () => {
    followTree = false;
    stopWatch();
    state('stopped', 'off');
  });
  $('#watch-clear').addEventListener('click', () => $('#watch-events').replaceChildren());
  // Follow the tree's prefix, so the tree stays current by itself.
  session.addEventListener('browse', (event) => {
    const { prefix } = event.detail;
    if (followTree && (prefix !== $('#watch-prefix').value || !controller || watched !== session.etcd)) void startWatch(prefix);
  });
}
