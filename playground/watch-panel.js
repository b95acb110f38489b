// The live watch panel: events under a prefix stream in with their revision, newest first.
// A new watch starts a new list. Rows are added once a frame (a burst of thousands of events
// costs one DOM update per frame) and the list keeps the latest MAX_ROWS, saying so when it
// dropped older ones. The client's watch resumes by itself after a broken connection.
import { session } from './connection.js';
import { $, describeError, el, keyLabel, note, onSubmit, startsWith, strictText, utf8 } from './dom.js';
import { openFeed } from './live-feed.js';

const MAX_ROWS = 200;
let feed; // the running feed
let watched; // the client it uses
let followTree = true; // the watch follows the tree's prefix until the user picks another one
let treePrefix = new Uint8Array(0);
let queued = []; // events not drawn yet
let total = 0; // events received by this watch
let _probing;

function snippet(kv) {
  const decoded = strictText(kv.value);
  if (decoded === undefined) return `(${kv.value.length} binary bytes)`;
  return decoded.length > 80 ? `${decoded.slice(0, 80)}…` : decoded;
}

function row(event) {
  const type = event.type === 'put' ? (event.kv.version === 1 ? 'create' : 'put') : 'delete';
  return el(
    'li',
    { className: `event ${event.type}`, dataset: { key: keyLabel(event.kv.key), revision: String(event.revision) } },
    el('span', { className: 'rev', textContent: `rev ${event.revision}` }),
    el('span', { className: 'type', textContent: type.toUpperCase() }),
    el('code', { className: 'key', textContent: keyLabel(event.kv.key), title: keyLabel(event.kv.key) }),
    event.type === 'put' ? el('span', { className: 'value', textContent: snippet(event.kv) }) : undefined,
  );
}

function draw() {
  const list = $('#watch-events');
  const latest = queued.slice(-MAX_ROWS).reverse();
  queued = [];
  // A few new rows flash; a burst's hundreds do not (that would repaint them all for a second).
  const rows = latest.map(row);
  if (rows.length <= 20) for (const li of rows) li.classList.add('fresh');
  list.prepend(...rows);
  while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
  const dropped = total - list.children.length;
  $('#watch-dropped').textContent =
    dropped > 0 ? `showing the latest ${MAX_ROWS} of ${total.toLocaleString('en')} events` : '';
}

const DRAW_EVERY = 150; // ms: a burst of thousands of events a second redraws a few times a second
let _frame;
let drawnAt = 0;
function receive(events) {
  for (const event of events) queued.push(event);
  if (queued.length > MAX_ROWS) queued.splice(0, queued.length - MAX_ROWS);
  total += events.length;
  _frame ??= setTimeout(
    () =>
      requestAnimationFrame(() => {
        _frame = undefined;
        drawnAt = performance.now();
        draw();
      }),
    Math.max(0, drawnAt + DRAW_EVERY - performance.now()),
  );
  // Keys outside the tree's prefix: the tree's own watch does not see them, so tell the panels.
  for (const event of events) {
    if (!startsWith(event.kv.key, treePrefix))
      session.emit('change', { type: event.type, key: event.kv.key, kv: event.kv, revision: event.revision });
  }
}

function state(text, kind = 'ok') {
  note($('#watch-state'), text, kind);
  $('#watch-panel').dataset.state = kind === 'ok' ? 'watching' : kind;
}

/** Resolves with etcd's revision once it answers again (undefined when aborted). */
async function probe(etcd, signal) {
  while (!signal.aborted) {
    try {
      return (await etcd.range({ key: 'health' }, { countOnly: true, signal, timeout: 1_500 })).revision;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return undefined;
}

export function stopWatch() {
  feed?.close();
  feed = undefined;
  session.watching = false;
  $('#watch-stop').disabled = true;
}

function clearList() {
  queued = [];
  total = 0;
  $('#watch-events').replaceChildren();
  $('#watch-dropped').textContent = '';
}

/** Watches `prefix`, from `startRevision` (a replay of history) or from now, in a fresh list. */
export function startWatch(prefix = $('#watch-prefix').value, startRevision = undefined) {
  stopWatch();
  const etcd = session.etcd;
  if (!etcd) return;
  clearList();
  watched = etcd;
  $('#watch-prefix').value = prefix;
  $('#watch-stop').disabled = false;
  const label = `${prefix === '' ? 'every key' : `“${prefix}”`}${startRevision ? ` from revision ${startRevision}` : ''}${session.relay ? ' through the relay' : ''}`;
  const stopProbe = new AbortController();
  const mine = openFeed({
    prefix,
    startRevision,
    onEvents: receive,
    onState: (kind, detail) => {
      if (feed !== mine) return;
      if (kind === 'starting') state(`starting a watch on ${label}…`, 'pending');
      else if (kind === 'live') {
        session.watching = true;
        state(`watching ${label}${typeof detail === 'number' ? `, at revision ${detail}` : ''}`);
      } else if (kind === 'reconnecting') {
        state(`connection lost (${describeError(detail.error)}); resuming, attempt ${detail.attempt}…`, 'pending');
        // The watch says nothing until the next event: probe etcd to tell the user when it is back.
        _probing ??= probe(etcd, stopProbe.signal).then((revision) => {
          _probing = undefined;
          if (revision !== undefined && feed === mine)
            state(`watching ${label} (resumed; etcd is back at revision ${revision})`);
        });
      } else if (kind === 'error') {
        state(`the watch ended: ${describeError(detail)}`, 'error');
        stopProbe.abort();
        stopWatch();
      }
    },
  });
  feed = mine;
  const close = mine.close;
  mine.close = () => {
    stopProbe.abort();
    close();
  };
}

export function initWatchPanel() {
  onSubmit(
    $('#watch-form'),
    () => {
      followTree = $('#watch-prefix').value === $('#prefix').value;
      const from = Number($('#watch-from').value);
      startWatch($('#watch-prefix').value, from > 0 ? from : undefined);
    },
    $('#watch-state'),
  );
  $('#watch-stop').addEventListener('click', () => {
    followTree = false;
    stopWatch();
    state('stopped', 'off');
  });
  $('#watch-clear').addEventListener('click', clearList);
  // Follow the tree's prefix until the user picks another one.
  session.addEventListener('browse', (event) => {
    const { prefix } = event.detail;
    treePrefix = utf8(prefix);
    if (followTree && (prefix !== $('#watch-prefix').value || !feed || watched !== session.etcd)) startWatch(prefix);
  });
}
