// The key tree: keys under a prefix as folders split on "/" (or, with a search or the list
// view, one flat list), virtualised, kept current by a watch of its own on what it shows,
// whatever the watch panel watches. One tab stop; arrow keys move, Right/Left open and close.
import { session } from './connection.js';
import { $, compareBytes, describeError, keyLabel, note, onSubmit, startsWith, utf8 } from './dom.js';
import { KeySearch } from './key-search.js';
import { openFeed } from './live-feed.js';
import { applyIn, countEvent, entryOf, Folder, MAX_CHILDREN, readCount } from './tree-model.js';
import { VirtualList } from './virtual-list.js';

const ROW = 24;
let root; // the entry of the prefix shown (a folder entry, always open)
let search; // the KeySearch of the list view, or undefined in the tree view
let selected; // Uint8Array of the selected key
let feed; // the tree's own watch
let list;
let rows = [];
let generation = 0;
/** What other panels add to the tree (multi-select): `click(event, index)` and `key(event, index)` return true when they handled it; `decorate(row, element)` after each render. */
const hooks = {};
export const hookTree = (more) => Object.assign(hooks, more);
export const treeRows = () => rows;
export const treeList = () => list;

const prefixText = () => $('#prefix').value;

function label(bytes, parentPrefix) {
  const rest = bytes.subarray(parentPrefix.length);
  if (rest.length === 0) return '(the prefix itself)';
  const text = keyLabel(rest);
  // Browsing "bulk" shows the folder "bulk/", not "/".
  return text === '/' ? keyLabel(bytes) : text;
}

/** The rows in view order: open folders' children under them, with a status row where needed. */
function flatten() {
  const out = [];
  if (search) {
    search.entries.forEach((entry, i) =>
      out.push({ entry, depth: 0, pos: i + 1, size: search.entries.length, parent: root.bytes }),
    );
    if (search.entries.length === 0 && search.done)
      out.push(status('empty', 0, search.query ? `no key contains “${search.query}”` : 'no keys'));
    return out;
  }
  const walk = (folderEntry, depth) => {
    const folder = folderEntry.folder;
    if (folder.error)
      return void out.push(
        status(
          `error-${folderEntry.id}`,
          depth,
          `⟳ retry (Enter or click): could not read, ${describeError(folder.error)}`,
          folderEntry,
        ),
      );
    if (!folder.loaded) return void out.push(status(`loading-${folderEntry.id}`, depth, 'loading…'));
    if (folder.entries.length === 0) {
      const text = depth === 0 ? (prefixText() ? `no keys under “${prefixText()}” yet` : 'no keys yet') : '(empty)';
      return void out.push(status(`empty-${folderEntry.id}`, depth, text));
    }
    const size = folder.entries.length;
    for (let i = 0; i < size; i++) {
      const entry = folder.entries[i];
      out.push({ entry, depth, pos: i + 1, size, parent: folder.prefix });
      if (entry.kind === 'folder' && entry.open && entry.folder) walk(entry, depth + 1);
    }
    if (folder.truncated)
      out.push(
        status(
          `more-${folderEntry.id}`,
          depth,
          `first ${MAX_CHILDREN.toLocaleString('en')} entries shown: search to find the rest`,
        ),
      );
  };
  walk(root, 0);
  return out;
}

const status = (id, depth, text, retry) => ({ status: id, depth, text, retry });

function renderRow(row, element, index) {
  element.dataset.index = String(index);
  element.setAttribute('role', 'treeitem');
  element.setAttribute('aria-level', String(row.depth + 1));
  element.style.paddingLeft = `${0.3 + row.depth * 1.1}rem`;
  if (row.status) {
    element.id = `tree-${row.status}`;
    element.className = `row status${row.retry ? ' error' : ''}${element.classList.contains('active') ? ' active' : ''}`;
    element.textContent = row.text;
    element.title = row.text;
    hooks.decorate?.(row, element);
    return;
  }
  const { entry } = row;
  element.id = `tree-${entry.id}`;
  element.setAttribute('aria-setsize', String(row.size));
  element.setAttribute('aria-posinset', String(row.pos));
  const isFolder = entry.kind === 'folder';
  const active = element.classList.contains('active');
  element.className = `row ${entry.kind}${active ? ' active' : ''}`;
  delete element.dataset.key;
  delete element.dataset.prefix;
  if (isFolder) {
    element.dataset.prefix = keyLabel(entry.bytes);
    element.setAttribute('aria-expanded', String(entry.open));
    element.removeAttribute('aria-selected');
    if (entry.count === undefined && session.etcd)
      readCount(session.etcd, entry).then(
        () => list.schedule(),
        () => {},
      );
  } else {
    element.dataset.key = keyLabel(entry.bytes);
    element.removeAttribute('aria-expanded');
    element.setAttribute('aria-selected', String(selected !== undefined && compareBytes(selected, entry.bytes) === 0));
  }
  const name = search ? label(entry.bytes, root.bytes) : label(entry.bytes, row.parent);
  const count = isFolder && entry.count !== undefined ? entry.count.toLocaleString('en') : '';
  const text = `${isFolder ? (entry.open ? '▾ ' : '▸ ') : '• '}${name}`;
  if (element.firstChild?.textContent !== text || element.lastChild?.textContent !== count) {
    const nameSpan = document.createElement('span');
    nameSpan.textContent = text;
    const countSpan = document.createElement('span');
    countSpan.className = 'count';
    countSpan.textContent = count;
    element.replaceChildren(nameSpan, countSpan);
  }
  element.title = keyLabel(entry.bytes);
  if (entry.flashAt > (element.flashed ?? 0) && performance.now() - entry.flashAt < 1_000) {
    element.flashed = entry.flashAt;
    element.animate([{ background: 'var(--flash)' }, { background: 'transparent' }], {
      duration: 1_000,
      easing: 'ease-out',
    });
  }
  hooks.decorate?.(row, element);
}

/** Rebuilds the row list (at most once a frame, and every REBUILD_EVERY ms under a burst) and re-renders what is in view. */
const REBUILD_EVERY = 100;
let rebuildQueued = false;
let rebuiltAt = 0;
function refresh() {
  if (rebuildQueued) return;
  rebuildQueued = true;
  const wait = Math.max(0, rebuiltAt + REBUILD_EVERY - performance.now());
  const rebuild = () =>
    requestAnimationFrame(() => {
      rebuildQueued = false;
      rebuiltAt = performance.now();
      rows = flatten();
      list.setRows(rows);
      list.render();
      const count = search ? search.entries.length : root?.count;
      const scope = search
        ? search.done
          ? ` found in ${search.scanned.toLocaleString('en')} keys`
          : ` found so far, ${search.scanned.toLocaleString('en')} keys searched…`
        : '';
      $('#tree-count').textContent =
        count === undefined ? '' : `${count.toLocaleString('en')} key${count === 1 ? '' : 's'}${scope}`;
    });
  if (wait > 0) setTimeout(rebuild, wait);
  else rebuild();
}

async function openFolder(entry) {
  entry.open = true;
  entry.folder ??= new Folder(entry.bytes);
  refresh();
  const mine = generation;
  await entry.folder.load(session.etcd).catch(() => {});
  if (mine === generation) refresh();
}

function toggle(row) {
  if (row.retry) return void openFolder(row.retry);
  if (row.status) return;
  const { entry } = row;
  if (entry.kind === 'key') return select(entry.bytes);
  if (entry.open) {
    entry.open = false;
    refresh();
  } else void openFolder(entry);
}

function keys(event, index) {
  const row = rows[index];
  if (!row) return false;
  if (hooks.key?.(event, index)) return true;
  if (event.key === 'Enter' || event.key === ' ') toggle(row);
  else if (event.key === 'ArrowRight' && row.entry?.kind === 'folder') {
    if (!row.entry.open) toggle(row);
    else list.activate(index + 1);
  } else if (event.key === 'ArrowLeft') {
    if (row.entry?.kind === 'folder' && row.entry.open) toggle(row);
    else for (let i = index - 1; i >= 0; i--) if (rows[i].depth < row.depth) return list.activate(i) ?? true;
  } else return false;
  return true;
}

export function select(key) {
  selected = key;
  list.render();
  session.emit('select', { key });
}

/** The tree's watch: every change under the prefix shown, for the tree and every panel. */
function received(events) {
  for (const event of events) {
    const change = { type: event.type, key: event.kv.key, kv: event.kv, revision: event.revision };
    apply(change);
    session.emit('change', change);
  }
}

/** Applies one change to what the tree (or list) shows. */
function apply(event) {
  if (!root || !startsWith(event.key, root.bytes)) return;
  countEvent(root, event);
  if (search) search.apply(event);
  else applyIn(root.folder, event);
  refresh();
}

export async function reload() {
  const etcd = session.etcd;
  if (!etcd) return;
  const mine = ++generation;
  const prefix = utf8(prefixText());
  // Folders open before stay open.
  const reopen = new Set();
  const collect = (entry) =>
    entry.folder?.entries.forEach((e) => e.kind === 'folder' && e.open && (reopen.add(keyLabel(e.bytes)), collect(e)));
  if (root && compareBytes(root.bytes, prefix) === 0) collect(root);
  if (search) search.stopped = true;
  const query = $('#search').value.trim();
  search = query || $('#view-list').getAttribute('aria-pressed') === 'true' ? new KeySearch(prefix, query) : undefined;
  root = entryOf('folder', prefix);
  root.open = true;
  root.folder = new Folder(prefix);
  note($('#tree-message'), '');
  session.emit('browse', { prefix: prefixText() });
  refresh();
  feed?.close();
  feed = undefined;
  try {
    const [, first] = await Promise.all([
      readCount(etcd, root),
      search
        ? search.run(etcd, refresh).then(() => search?.revision)
        : root.folder.load(etcd).then(() => root.folder.revision),
    ]);
    if (mine !== generation) return;
    // The tree's own watch, from just after what it read.
    feed = openFeed({
      prefix,
      startRevision: first + 1,
      onEvents: received,
      onCompacted: () => reload(),
      onState: watchState,
    });
    const walk = async (folderEntry) => {
      for (const entry of folderEntry.folder?.entries ?? []) {
        if (entry.kind === 'folder' && reopen.has(keyLabel(entry.bytes))) {
          await openFolder(entry);
          await walk(entry);
        }
      }
    };
    if (!search) await walk(root);
  } catch (error) {
    if (mine === generation) note($('#tree-message'), describeError(error), 'error');
  }
  refresh();
}

function watchState(state, error) {
  $('#tree-panel').dataset.live = state;
  if (state === 'live' && $('#tree-message').classList.contains('error')) note($('#tree-message'), '');
  if (state === 'error') note($('#tree-message'), `updates stopped: ${describeError(error)}`, 'error');
}

export function initKeyTree() {
  const container = $('#tree');
  list = new VirtualList(container, {
    rowHeight: ROW,
    render: renderRow,
    key: (row) => row.status ?? row.entry.id,
    keys,
  });
  container.addEventListener('click', (event) => {
    const element = event.target.closest('[role="treeitem"]');
    if (!element) return;
    const index = Number(element.dataset.index);
    list.activate(index);
    if (!hooks.click?.(event, index)) toggle(rows[index]);
  });
  onSubmit($('#tree-form'), () => reload(), $('#tree-message'));
  // The skip link lands in the tree itself, ready for the arrow keys.
  $('.skip').addEventListener('click', (event) => {
    event.preventDefault();
    container.focus();
  });
  let typing;
  $('#search').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => reload(), 250);
  });
  for (const button of document.querySelectorAll('#tree-views button')) {
    button.addEventListener('click', () => {
      for (const other of document.querySelectorAll('#tree-views button'))
        other.setAttribute('aria-pressed', String(other === button));
      void reload();
    });
  }
  session.addEventListener('connected', () => void reload());
  session.addEventListener('refresh', () => void reload());
  session.addEventListener('change', (event) => {
    // This page's own writes show at once (the watch confirms them a moment later).
    if (!event.detail.local || !root || !startsWith(event.detail.key, root.bytes)) return;
    const { type, key } = event.detail;
    if (search) return;
    let folder = root.folder;
    while (folder?.loaded) {
      const wanted = folder.entryFor(key);
      const entry = folder.find(wanted.bytes);
      if (wanted.kind === 'folder') {
        if (!entry && type === 'put') folder.insert('folder', wanted.bytes);
        folder = entry?.open ? entry.folder : undefined;
        continue;
      }
      if (type === 'put' && !entry) folder.insert('key', key);
      break;
    }
    refresh();
  });
}
