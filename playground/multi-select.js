// Multi-select in the key tree: Ctrl/⌘-click or Ctrl+Space picks a key or a folder, Shift-click
// or Shift+arrows picks a run of rows, Ctrl+A picks every row shown, Escape lets go. The picks are
// deleted in txns of at most 100 operations (etcd's --max-txn-ops is 128 by default) after a
// preview and a confirmation, each txn refusing if a picked key or folder changed since the
// preview; or exported (read in pages bounded by bytes, all at one revision).
import { cmp, op } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, compareBytes, confirmDialog, el, hex, keyLabel, note, startsWith } from './dom.js';
import { downloadExport, encodeEntry } from './import-export.js';
import { hookTree, treeList, treeRows } from './key-tree.js';
import { readPages } from './paged-read.js';

export const TXN_OPS = 100;
const PREVIEW_ROWS = 200;
const picks = new Map(); // hex of bytes -> { kind, bytes }
let anchor; // the row index a Shift range starts from
let plan; // { picks, revision, total } of the last preview

/** The picks, without those inside a picked folder, in byte order. */
export function pickedEntries() {
  const all = [...picks.values()].sort((a, b) => compareBytes(a.bytes, b.bytes));
  const folders = all.filter((p) => p.kind === 'folder');
  return all.filter((p) => !folders.some((f) => f !== p && startsWith(p.bytes, f.bytes)));
}

const entryOfRow = (index) => treeRows()[index]?.entry;

function pick(entry, on = !picks.has(hex(entry.bytes))) {
  if (on) picks.set(hex(entry.bytes), { kind: entry.kind, bytes: entry.bytes });
  else picks.delete(hex(entry.bytes));
}

function pickRange(from, to) {
  const [low, high] = from < to ? [from, to] : [to, from];
  for (let i = low; i <= high; i++) {
    const entry = entryOfRow(i);
    if (entry) pick(entry, true);
  }
}

function changed() {
  plan = undefined;
  $('#pick-preview').hidden = true;
  $('#pick-delete').textContent = 'Delete…';
  const chosen = pickedEntries();
  const keys = chosen.filter((p) => p.kind === 'key').length;
  const folders = chosen.length - keys;
  $('#pick-bar').hidden = chosen.length === 0;
  $('#pick-count').textContent =
    `${keys} key${keys === 1 ? '' : 's'} and ${folders} folder${folders === 1 ? '' : 's'} picked`;
  treeList().render();
}

function decorate(row, element) {
  const on = row.entry !== undefined && picks.has(hex(row.entry.bytes));
  element.classList.toggle('picked', on);
  if (row.entry && picks.size > 0) element.setAttribute('aria-checked', String(on));
  else element.removeAttribute('aria-checked');
}

function click(event, index) {
  const entry = entryOfRow(index);
  if (!entry) return false;
  if (event.shiftKey && anchor !== undefined) pickRange(anchor, index);
  else if (event.ctrlKey || event.metaKey) {
    pick(entry);
    anchor = index;
  } else {
    // A plain click starts a run for the next Shift-click.
    anchor = index;
    return false;
  }
  changed();
  return true;
}

function key(event, index) {
  const entry = entryOfRow(index);
  if ((event.ctrlKey || event.metaKey || event.shiftKey) && event.key === ' ' && entry) {
    pick(entry);
    anchor = index;
  } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'a') {
    pickRange(0, treeRows().length - 1);
  } else if (event.key === 'Escape' && picks.size > 0) {
    picks.clear();
  } else return false;
  changed();
  return true;
}

/** Shift+ArrowUp/Down: the tree moved the active row; the run from the anchor to it is picked. */
function extend(event) {
  if (!event.shiftKey || (event.key !== 'ArrowDown' && event.key !== 'ArrowUp')) return;
  const active = treeList().active;
  const from = active + (event.key === 'ArrowDown' ? -1 : 1);
  anchor ??= from;
  pickRange(anchor, active);
  changed();
}

/** Reads what the picks hold now: a key count per folder, and the revision it was read at. */
async function preview() {
  const chosen = pickedEntries();
  const { revision } = await session.etcd.range({ prefix: '' }, { countOnly: true });
  const counts = await Promise.all(
    chosen.map((p) =>
      p.kind === 'folder'
        ? session.etcd.count({ prefix: p.bytes }, { revision })
        : session.etcd.count({ key: p.bytes }, { revision }),
    ),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  plan = { picks: chosen, revision, total };
  const list = $('#pick-preview');
  list.hidden = false;
  list.replaceChildren(
    ...chosen.slice(0, PREVIEW_ROWS).map((p, i) =>
      el('li', {
        dataset: { key: keyLabel(p.bytes), kind: p.kind },
        textContent: `${keyLabel(p.bytes)} — ${p.kind === 'folder' ? `folder, ${counts[i].toLocaleString('en')} keys` : counts[i] ? 'key' : 'key, already gone'}`,
      }),
    ),
    ...(chosen.length > PREVIEW_ROWS ? [el('li', { textContent: `… and ${chosen.length - PREVIEW_ROWS} more` })] : []),
  );
  const txns = Math.ceil(chosen.length / TXN_OPS);
  note(
    $('#pick-message'),
    `preview at revision ${revision}: ${total.toLocaleString('en')} key(s) in ${chosen.length} pick(s), deleted in ${txns} txn${txns === 1 ? '' : 's'}`,
  );
  $('#pick-delete').textContent = `Delete ${total.toLocaleString('en')} key(s)…`;
}

async function remove() {
  if (!plan) return preview();
  const { picks: chosen, revision, total } = plan;
  if (
    !(await confirmDialog(
      `Delete ${total.toLocaleString('en')} key(s) in ${chosen.length} pick(s)? This cannot be undone.`,
    ))
  )
    return;
  let deleted = 0;
  for (let i = 0; i < chosen.length; i += TXN_OPS) {
    const batch = chosen.slice(i, i + TXN_OPS);
    const target = (p) => (p.kind === 'folder' ? { prefix: p.bytes } : p.bytes);
    // Nothing picked changed since the preview: every key in it was last written at or before it.
    const result = await session.etcd
      .txn()
      .if(...batch.map((p) => cmp.modRevision(target(p), '<', revision + 1)))
      .then(...batch.map((p) => op.del(target(p))))
      .commit();
    if (!result.succeeded) {
      plan = undefined;
      $('#pick-delete').textContent = 'Delete…';
      return note(
        $('#pick-message'),
        `refused: something in ${keyLabel(batch[0].bytes)} … ${keyLabel(batch.at(-1).bytes)} changed since the preview; ${deleted} key(s) deleted before that. Preview again.`,
        'error',
      );
    }
    for (const [j, r] of result.results.entries()) {
      deleted += r.deleted;
      if (batch[j].kind === 'key' && r.deleted) session.changed('delete', batch[j].bytes, result.revision);
    }
  }
  picks.clear();
  changed();
  note(
    $('#pick-message'),
    `deleted ${deleted.toLocaleString('en')} key(s) in ${Math.ceil(chosen.length / TXN_OPS)} txn(s)`,
  );
}

async function exportPicks() {
  const chosen = pickedEntries();
  let revision;
  const kvs = [];
  for (const p of chosen) {
    const query = p.kind === 'folder' ? { prefix: p.bytes } : { from: p.bytes, to: new Uint8Array([...p.bytes, 0]) };
    for await (const page of readPages(session.etcd, { ...query, revision })) {
      revision = page.revision;
      kvs.push(...page.kvs.map(encodeEntry));
    }
    revision ??= (await session.etcd.range({ prefix: '' }, { countOnly: true })).revision;
  }
  downloadExport(kvs, '', revision, 'picked');
  note($('#pick-message'), `exported ${kvs.length.toLocaleString('en')} key(s) at revision ${revision}`);
}

export function initMultiSelect() {
  hookTree({ click, key, decorate });
  $('#tree').setAttribute('aria-multiselectable', 'true');
  $('#tree').addEventListener('keydown', extend);
  const run = (action) => () =>
    action().catch((error) => note($('#pick-message'), String(error?.message ?? error), 'error'));
  $('#pick-delete').addEventListener('click', run(remove));
  $('#pick-export').addEventListener('click', run(exportPicks));
  $('#pick-clear').addEventListener('click', () => {
    picks.clear();
    anchor = undefined;
    note($('#pick-message'), '');
    changed();
  });
  const reset = () => {
    picks.clear();
    anchor = undefined;
    changed();
  };
  session.addEventListener('connected', reset);
  session.addEventListener('browse', reset);
}
