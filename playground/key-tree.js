// The key tree: keys under a prefix, split on "/", listed lazily a page at a time with
// `keysOnly` + `limit` (values are read only when a key is selected), so a prefix with
// thousands of keys opens as fast as one with ten. A folder's whole subtree is skipped with
// one range request starting at its prefix end, so a page costs about one request per folder.
import { $, compareBytes, el, hex, keyLabel, nextKey, onSubmit, prefixEnd, report, startsWith, utf8 } from './dom.js';
import { session } from './connection.js';

const PAGE = 100; // entries (keys or folders) shown per page
const SLASH = 0x2f;

let root;
let selected; // Uint8Array of the selected key
let generation = 0; // bumps on every reload, so answers to an old tree are dropped

/** One folder of the tree: its prefix, its loaded children in key order, and where to read on. */
class Folder {
  constructor(prefix, list) {
    this.prefix = prefix;
    this.list = list; // the <ul> of its children
    this.clear();
  }

  clear() {
    this.entries = []; // { kind: 'key' | 'folder', bytes, li, folder? } in byte order
    this.index = new Map(); // binary string of bytes -> entry
    this.list.replaceChildren();
    this.loaded = false;
    this.cursor = this.prefix.length === 0 ? new Uint8Array([0]) : this.prefix; // next key to read; undefined once complete
    this.more = undefined; // the "more…" button
  }

  get complete() {
    return this.loaded && this.cursor === undefined;
  }

  /** Reads up to PAGE more children (a second call while reading waits for the first). */
  loadPage() {
    this.loading ??= this.readPage().finally(() => (this.loading = undefined));
    return this.loading;
  }

  async readPage() {
    const etcd = session.etcd;
    const mine = generation;
    const end = this.prefix.length === 0 ? undefined : prefixEnd(this.prefix);
    let added = 0;
    while (this.cursor !== undefined && added < PAGE) {
      const { kvs, more } = await etcd.range({ from: this.cursor, ...(end ? { to: end } : {}), keysOnly: true, limit: PAGE });
      if (mine !== generation) return;
      let next;
      let full = false;
      for (const kv of kvs) {
        const entry = this.entryFor(kv.key);
        if (!this.find(entry.bytes)) {
          this.insert(entry);
          added++;
        }
        // Past a folder, the next request starts at its end: its other keys are never read.
        next = entry.kind === 'folder' ? prefixEnd(entry.bytes) : nextKey(kv.key);
        if (added >= PAGE) {
          full = true;
          break;
        }
      }
      const done = next === undefined || (!more && !full) || (end !== undefined && compareBytes(next, end) >= 0);
      this.cursor = done ? undefined : next;
    }
    this.loaded = true;
    this.renderMore();
  }

  /** What a key is at this level: itself, or the folder that holds it. */
  entryFor(key) {
    const slash = key.indexOf(SLASH, this.prefix.length);
    return slash === -1 ? { kind: 'key', bytes: key } : { kind: 'folder', bytes: key.slice(0, slash + 1) };
  }

  find(bytes) {
    return this.index.get(binary(bytes));
  }

  insert(entry) {
    entry.li = entry.kind === 'folder' ? folderItem(entry, this.prefix) : keyItem(entry.bytes, this.prefix);
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareBytes(this.entries[mid].bytes, entry.bytes) < 0) low = mid + 1;
      else high = mid;
    }
    this.entries.splice(low, 0, entry);
    this.index.set(binary(entry.bytes), entry);
    this.list.insertBefore(entry.li, this.entries[low + 1]?.li ?? this.more ?? null);
    return entry;
  }

  remove(entry) {
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.index.delete(binary(entry.bytes));
    entry.li.remove();
  }

  renderMore() {
    this.more?.remove();
    this.more = undefined;
    if (this.cursor === undefined) return;
    this.more = el('li', { className: 'more' }, el('button', { type: 'button', textContent: 'more…', onclick: () => this.loadPage().catch(report) }));
    this.list.append(this.more);
  }
}

const binary = (bytes) => hex(bytes);

function label(bytes, parentPrefix) {
  const rest = bytes.subarray(parentPrefix.length);
  return rest.length === 0 ? '(the prefix itself)' : keyLabel(rest);
}

function keyItem(key, parentPrefix) {
  const button = el('button', { type: 'button', className: 'leaf', textContent: label(key, parentPrefix), title: keyLabel(key) });
  const li = el('li', { className: 'key', dataset: { key: keyLabel(key) } }, button);
  if (selected && compareBytes(selected, key) === 0) li.classList.add('selected');
  button.addEventListener('click', () => select(key));
  return li;
}

function folderItem(entry, parentPrefix) {
  const list = el('ul');
  const folder = new Folder(entry.bytes, list);
  entry.folder = folder;
  const count = el('span', { className: 'count' });
  const toggle = el('button', { type: 'button', className: 'folder', textContent: label(entry.bytes, parentPrefix) });
  const li = el('li', { className: 'folder collapsed', dataset: { prefix: keyLabel(entry.bytes) } }, toggle, count, list);
  li.openFolder = async () => {
    li.classList.remove('collapsed');
    if (folder.loaded) return;
    countKeys(entry.bytes, count, true);
    await folder.loadPage();
  };
  toggle.addEventListener('click', () => {
    if (li.classList.contains('collapsed')) li.openFolder().catch(report);
    else li.classList.add('collapsed');
  });
  return li;
}

const counting = new Map(); // element -> timer: counts are refreshed at most every 300 ms

/** Shows how many keys a prefix holds (debounced: a burst of events costs one count). */
function countKeys(prefix, target, now = false) {
  if (!target || counting.has(target)) return;
  const run = () => {
    counting.delete(target);
    session.etcd
      ?.count({ prefix })
      .then((n) => (target.textContent = target.id === 'tree-count' ? `${n.toLocaleString('en')} key${n === 1 ? '' : 's'}` : n.toLocaleString('en')))
      .catch(() => {});
  };
  if (now) run();
  else counting.set(target, setTimeout(run, 300));
}

export function select(key) {
  selected = key;
  for (const li of document.querySelectorAll('#tree li.key.selected')) li.classList.remove('selected');
  document.querySelector(`#tree li.key[data-key="${CSS.escape(keyLabel(key))}"]`)?.classList.add('selected');
  session.emit('select', { key });
}

/** Folders that were open, to open again after a reload. */
function openPrefixes() {
  return [...document.querySelectorAll('#tree li.folder:not(.collapsed)')].map((li) => li.dataset.prefix);
}

export async function reload() {
  if (!session.etcd) return;
  const reopen = openPrefixes();
  generation++;
  const prefix = utf8($('#prefix').value);
  root = new Folder(prefix, $('#tree'));
  session.emit('browse', { prefix: $('#prefix').value });
  countKeys(prefix, $('#tree-count'), true);
  await root.loadPage();
  // Re-open what was open, outermost first (children appear as their parents load).
  for (const name of reopen.sort((a, b) => a.length - b.length)) {
    const li = document.querySelector(`#tree li.folder[data-prefix="${CSS.escape(name)}"]`);
    if (li?.classList.contains('collapsed')) await li.openFolder();
  }
}

/** Applies one change (a watch event or this page's own write) to the loaded part of the tree. */
function apply({ type, key }) {
  if (!root?.loaded || !startsWith(key, root.prefix)) return;
  let folder = root;
  const path = []; // [parent folder, folder entry] pairs walked through
  for (;;) {
    const wanted = folder.entryFor(key);
    const existing = folder.find(wanted.bytes);
    if (existing?.kind === 'folder') {
      path.push([folder, existing]);
      if (existing.folder.loaded) {
        folder = existing.folder;
        continue;
      }
      // A closed folder reads fresh keys when opened; it only goes when its last key went.
      if (type === 'delete') removeIfEmpty(folder, existing);
      break;
    }
    if (type === 'put') {
      if (existing) flash(existing.li);
      else if (folder.cursor === undefined || compareBytes(wanted.bytes, folder.cursor) < 0) {
        const entry = folder.insert(wanted);
        flash(entry.li);
        if (entry.kind === 'folder') countKeys(entry.bytes, entry.li.querySelector(':scope > .count'));
      }
    } else if (existing) {
      folder.remove(existing);
      for (let i = path.length - 1; i >= 0; i--) {
        const [parent, entry] = path[i];
        if (!entry.folder.complete || entry.folder.entries.length > 0) break;
        parent.remove(entry);
      }
    }
    break;
  }
  for (const [, entry] of path) if (entry.folder.loaded) countKeys(entry.bytes, entry.li.querySelector(':scope > .count'));
}

function removeIfEmpty(parent, entry) {
  session.etcd
    .count({ prefix: entry.bytes })
    .then((n) => n === 0 && parent.find(entry.bytes) === entry && parent.remove(entry))
    .catch(() => {});
}

function flash(li) {
  li.firstElementChild.animate([{ background: '#ffe38a' }, { background: 'transparent' }], { duration: 1200, easing: 'ease-out' });
}

export function initKeyTree() {
  onSubmit($('#tree-form'), () => reload());
  session.addEventListener('connected', () => reload().catch(report));
  session.addEventListener('refresh', () => reload().catch(report));
  session.addEventListener('change', (event) => {
    apply(event.detail);
    if (event.detail.type === 'delete' && selected && compareBytes(selected, event.detail.key) === 0) {
      for (const li of document.querySelectorAll('#tree li.key.selected')) li.classList.remove('selected');
    }
    if (root) countKeys(root.prefix, $('#tree-count'));
  });
}

