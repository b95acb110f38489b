// Time travel: the prefix the tree shows, as it was at any revision etcd still keeps (from its
// compaction point to now). A step reads the prefix keys-only at that revision (paged, all at
// one revision) and marks the keys that changed or went since; "Diff" compares two revisions of
// the whole prefix (added, removed, changed keys) with a line diff of each changed value.
import { session } from './connection.js';
import { $, describeError, el, formatSize, keyLabel, note, onSubmit, utf8 } from './dom.js';
import { diffLines, printable } from './text-diff.js';
import { createdSince, deriveSnapshot, diffSnapshots, readSnapshot, sinceThen } from './time-snapshot.js';
import { VirtualList } from './virtual-list.js';

const ROW = 24;
const DIFF_SHOWN = 100; // changes shown with their value diffs; the rest are counted
const CACHED = 4; // snapshots kept (the current one, the compared ones)
let prefix = new Uint8Array();
let now; // the snapshot of the prefix now (read again when a change under it arrives)
let nowStale = true;
let rows = [];
let list;
let step; // the AbortController of the step in flight
const cache = new Map(); // revision -> snapshot, of this prefix

const panel = () => $('#time-panel');

/**
 * The oldest revision etcd still keeps: a watch from revision 1 of a key no one writes is created,
 * then at once cancelled with the compaction point when revision 1 is gone; nothing comes otherwise.
 */
async function compactRevision(etcd) {
  const controller = new AbortController();
  try {
    const watch = etcd.watch({ key: '\u0000etcd-fetch/compaction-probe', startRevision: 1, signal: controller.signal });
    await watch.ready;
    setTimeout(() => controller.abort(), 400);
    for await (const _ of watch.responses()) break;
    return 1;
  } catch (error) {
    return error?.compactRevision ?? 1;
  } finally {
    controller.abort();
  }
}

function keep(snapshot) {
  cache.set(snapshot.revision, snapshot);
  if (cache.size > CACHED) cache.delete(cache.keys().next().value);
  return snapshot;
}

/** The prefix at `revision`: from the cache, from the nearest snapshot and the changes since, or read whole. */
async function snapshotAt(etcd, revision, signal) {
  const hit = cache.get(revision) ?? (now?.revision === revision ? now : undefined);
  if (hit) return hit;
  let nearest;
  for (const snapshot of [...cache.values(), now].filter(Boolean))
    if (!nearest || Math.abs(snapshot.revision - revision) < Math.abs(nearest.revision - revision)) nearest = snapshot;
  const started = performance.now();
  // The whole read and the derivation race: a derivation wins when few keys changed, the read
  // when etcd's history between the two revisions is long or slow to replay. The loser is stopped.
  const race = new AbortController();
  const signals = signal ? AbortSignal.any([signal, race.signal]) : race.signal;
  const whole = readSnapshot(etcd, prefix, revision, signals);
  const derived = nearest
    ? deriveSnapshot(etcd, prefix, nearest, revision, signals).then((snapshot) => {
        if (!snapshot) return whole;
        snapshot.how = `from revision ${nearest.revision} and the changes since`;
        return snapshot;
      })
    : whole;
  let snapshot;
  try {
    snapshot = await Promise.any([derived, whole]);
  } catch (error) {
    throw error instanceof AggregateError ? error.errors[0] : error;
  } finally {
    race.abort();
  }
  snapshot.readMs = Math.round(performance.now() - started);
  return keep(snapshot);
}

async function current(etcd, signal) {
  if (!now || nowStale) {
    nowStale = false;
    if (now) {
      const { revision } = await etcd.range({ prefix }, { countOnly: true, signal });
      now = await snapshotAt(etcd, revision, signal);
    } else now = keep(await readSnapshot(etcd, prefix, undefined, signal));
  }
  return now;
}

/** Sets the slider's range from the compaction point to now. */
async function bounds() {
  const etcd = session.etcd;
  const [oldest, latest] = await Promise.all([compactRevision(etcd), current(etcd)]);
  const slider = $('#tt-revision');
  slider.min = String(oldest);
  slider.max = String(latest.revision);
  $('#tt-from').min = String(oldest);
  $('#tt-from').max = String(latest.revision);
  $('#tt-range').textContent = `revisions ${oldest}–${latest.revision} kept by etcd`;
  return { oldest, latest };
}

/** Shows the prefix at `revision`; the panel's data-revision says which one is on show. */
async function show(revision) {
  const etcd = session.etcd;
  step?.abort();
  const controller = new AbortController();
  step = controller;
  const started = performance.now();
  const message = $('#tt-message');
  note(message, `reading revision ${revision}…`, 'pending');
  panel().dataset.state = 'reading';
  const [then, latest] = await Promise.all([
    snapshotAt(etcd, revision, controller.signal),
    current(etcd, controller.signal),
  ]);
  if (controller.signal.aborted) return;
  rows = then.kvs.map((kv) => ({ kv, since: sinceThen(kv, latest) }));
  list.setRows(rows);
  list.render();
  const changed = rows.filter((row) => row.since).length;
  const created = createdSince(then, latest);
  const ms = Math.round(performance.now() - started);
  $('#tt-at').value = String(revision);
  $('#tt-count').textContent = `${then.kvs.length.toLocaleString('en')} keys at revision ${revision}`;
  note(
    message,
    revision >= latest.revision
      ? `now (revision ${latest.revision}): ${then.kvs.length.toLocaleString('en')} keys`
      : `${changed.toLocaleString('en')} of these keys changed or went since, ${created.toLocaleString('en')} created since (now: revision ${latest.revision}); shown in ${ms} ms${then.how ? ` (${then.how})` : ''}`,
  );
  Object.assign(panel().dataset, { state: 'shown', revision: String(revision), stepMs: String(ms) });
}

function renderRow(row, element, index) {
  element.dataset.index = String(index);
  element.id = `tt-row-${index}`;
  element.setAttribute('role', 'treeitem');
  element.setAttribute('aria-level', '1');
  element.setAttribute('aria-setsize', String(rows.length));
  element.setAttribute('aria-posinset', String(index + 1));
  element.setAttribute('aria-selected', 'false');
  const active = element.classList.contains('active');
  element.className = `row key${row.since ? ` since-${row.since}` : ''}${active ? ' active' : ''}`;
  const name = keyLabel(row.kv.key.subarray(prefix.length)) || '(the prefix itself)';
  element.dataset.key = keyLabel(row.kv.key);
  element.dataset.since = row.since;
  const mark = { changed: 'changed since', deleted: 'deleted since', recreated: 'deleted and created again since' }[
    row.since
  ];
  const parts = [
    el('span', { textContent: `• ${name}` }),
    el('span', { className: 'count', textContent: ` rev ${row.kv.modRevision}` }),
  ];
  if (mark) parts.push(el('span', { className: 'since', textContent: ` ${mark}` }));
  element.replaceChildren(...parts);
  element.title = `${keyLabel(row.kv.key)}: version ${row.kv.version}, modified at revision ${row.kv.modRevision}`;
}

/** Compares revision `from` with the slider's: every key added, removed or changed, values diffed. */
async function diff(from, to) {
  const etcd = session.etcd;
  const message = $('#tt-diff-message');
  const out = $('#tt-diff');
  note(message, `comparing revisions ${from} and ${to}…`, 'pending');
  const [a, b] = await Promise.all([snapshotAt(etcd, from), snapshotAt(etcd, to)]);
  const changes = diffSnapshots(a, b);
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const change of changes) counts[change.kind]++;
  const head = changes.slice(0, DIFF_SHOWN);
  // The values of the changes shown, each at its revision (reads of one tick travel together).
  const values = await Promise.all(
    head.map((change) =>
      Promise.all([
        change.before ? etcd.get(change.key, { revision: from }) : undefined,
        change.after ? etcd.get(change.key, { revision: to }) : undefined,
      ]),
    ),
  );
  out.replaceChildren(
    ...head.map((change, i) => {
      const [before, after] = values[i];
      return el(
        'li',
        { className: change.kind, dataset: { key: keyLabel(change.key), kind: change.kind } },
        el(
          'div',
          { className: 'meta' },
          el('strong', { className: 'kind', textContent: change.kind }),
          el('code', { textContent: keyLabel(change.key) }),
          el('span', {
            textContent: [
              before && `rev ${before.modRevision}, ${formatSize(before.value.length)}`,
              after && `rev ${after.modRevision}, ${formatSize(after.value.length)}`,
            ]
              .filter(Boolean)
              .join(' → '),
          }),
        ),
        valueDiff(before?.value, after?.value),
      );
    }),
  );
  const more = changes.length > DIFF_SHOWN ? ` (the first ${DIFF_SHOWN} shown)` : '';
  note(
    message,
    `revision ${from} → ${to}: ${counts.added} added, ${counts.removed} removed, ${counts.changed} changed${more}`,
  );
  Object.assign(panel().dataset, { diff: `${from}-${to}` });
}

function valueDiff(before, after) {
  const a = before ? printable(before) : { binary: false, text: '' };
  const b = after ? printable(after) : { binary: false, text: '' };
  if (a.binary || b.binary)
    return el('pre', {
      className: 'diff',
      tabIndex: 0,
      textContent: `binary value: ${formatSize(before?.length ?? 0)} → ${formatSize(after?.length ?? 0)}`,
    });
  const lines = diffLines(a.text.slice(0, 4_000), b.text.slice(0, 4_000)).filter(
    ([kind, line]) => !(line === '' && kind !== ' ' && ((kind === '-' && !before) || (kind === '+' && !after))),
  );
  return el(
    'pre',
    { className: 'diff', tabIndex: 0 },
    ...lines.map(([kind, line]) =>
      el('span', { className: kind === '+' ? 'add' : kind === '-' ? 'del' : 'same', textContent: `${kind} ${line}\n` }),
    ),
  );
}

/** Reads the bounds again and shows now (on connect, a new prefix, or the Load button). */
async function open() {
  prefix = utf8($('#prefix').value);
  cache.clear();
  now = undefined;
  nowStale = true;
  $('#tt-prefix').textContent = $('#prefix').value || '(all keys)';
  const { latest } = await bounds();
  $('#tt-revision').value = String(latest.revision);
  await show(latest.revision);
}

export function initTimeTravel() {
  // A scrolling list: reachable with the keyboard (axe's scrollable-region-focusable).
  $('#tt-diff').tabIndex = 0;
  list = new VirtualList($('#tt-tree'), {
    rowHeight: ROW,
    render: renderRow,
    key: (row) => row.kv.modRevision + idKey(row),
  });
  const fail = (target) => (error) => {
    if (error?.name !== 'AbortError') note(target, describeError(error), 'error');
  };
  const slider = $('#tt-revision');
  let typing;
  slider.addEventListener('input', () => {
    $('#tt-at').value = slider.value;
    clearTimeout(typing);
    typing = setTimeout(() => show(Number(slider.value)).catch(fail($('#tt-message'))), 120);
  });
  slider.addEventListener('change', () => {
    clearTimeout(typing);
    show(Number(slider.value)).catch(fail($('#tt-message')));
  });
  $('#tt-load').addEventListener('click', () => open().catch(fail($('#tt-message'))));
  onSubmit(
    $('#tt-diff-form'),
    () => {
      const from = Number($('#tt-from').value);
      const to = Number(slider.value);
      if (!from) throw new Error('give the revision to compare with');
      return diff(Math.min(from, to), Math.max(from, to));
    },
    $('#tt-diff-message'),
  );
  session.addEventListener('change', (event) => {
    // A change under the prefix: "now" moved on (read again at the next step).
    const key = event.detail.key;
    if (key.length >= prefix.length && prefix.every((b, i) => key[i] === b)) nowStale = true;
    // The slider reaches the newest revision the page has heard of.
    if (panel().dataset.state && event.detail.revision > Number(slider.max)) {
      slider.max = String(event.detail.revision);
      $('#tt-from').max = slider.max;
    }
  });
  session.addEventListener('browse', () => {
    if (panel().dataset.state) open().catch(fail($('#tt-message')));
  });
}

const idKey = (row) => keyLabel(row.kv.key);
