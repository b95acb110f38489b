// Bookmarks of keys and folders, kept in this browser per saved connection (or, without one, per
// endpoints and user): a folder bookmark browses it, a key bookmark opens it in the editor.
import { session } from './connection.js';
import { $, compareBytes, el, hex, keyLabel, note, parseHex, utf8 } from './dom.js';
import { select } from './key-tree.js';
import { pickedEntries } from './multi-select.js';

const STORE = 'etcd-playground.bookmarks';
let owner = ''; // whose bookmarks are shown
let openKey; // the key open in the editor

function loadAll() {
  try {
    const all = JSON.parse(localStorage.getItem(STORE) ?? '{}');
    return all && typeof all === 'object' && !Array.isArray(all) ? all : {};
  } catch {
    return {};
  }
}

export function bookmarksOf(who) {
  const list = loadAll()[who];
  return Array.isArray(list) ? list : [];
}

function save(list) {
  const all = loadAll();
  all[owner] = list;
  localStorage.setItem(STORE, JSON.stringify(all));
  render();
}

/** Adds bookmarks (`{ kind, bytes }`), each once. */
function add(entries) {
  const list = bookmarksOf(owner);
  for (const { kind, bytes } of entries)
    if (!list.some((b) => b.kind === kind && b.hex === hex(bytes)))
      list.push({ kind, hex: hex(bytes), label: keyLabel(bytes) });
  list.sort((a, b) => compareBytes(parseHex(a.hex), parseHex(b.hex)));
  save(list);
  note($('#bookmark-message'), `${entries.length} bookmark${entries.length === 1 ? '' : 's'} added`);
}

function open(bookmark) {
  const bytes = parseHex(bookmark.hex);
  if (bookmark.kind === 'folder') {
    $('#prefix').value = bookmark.label;
    $('#tree-form').requestSubmit();
  } else select(bytes);
}

function render() {
  const list = bookmarksOf(owner);
  $('#bookmark-owner').textContent = owner ? `for ${owner}` : '';
  $('#bookmark-list').replaceChildren(
    ...list.map((b) =>
      el(
        'li',
        { dataset: { key: b.label, kind: b.kind } },
        el('button', {
          type: 'button',
          className: 'link',
          textContent: `${b.kind === 'folder' ? '▸ ' : '• '}${b.label || '(all keys)'}`,
          onclick: () => open(b),
        }),
        el('button', {
          type: 'button',
          className: 'small remove',
          textContent: '×',
          ariaLabel: `remove the bookmark ${b.label}`,
          onclick: () => save(bookmarksOf(owner).filter((x) => !(x.hex === b.hex && x.kind === b.kind))),
        }),
      ),
    ),
  );
  $('#bookmark-empty').hidden = list.length > 0;
}

export function initBookmarks() {
  session.addEventListener('connected', () => {
    const profile = $('#profile').value;
    owner = profile
      ? `“${profile}”`
      : `${session.endpoints.join(', ')}${session.username ? ` as ${session.username}` : ''}`;
    note($('#bookmark-message'), '');
    render();
  });
  session.addEventListener('select', (event) => {
    openKey = event.detail.key;
    $('#bookmark-key').disabled = false;
  });
  $('#bookmark-folder').addEventListener('click', () => add([{ kind: 'folder', bytes: utf8($('#prefix').value) }]));
  $('#bookmark-key').addEventListener('click', () => openKey && add([{ kind: 'key', bytes: openKey }]));
  $('#bookmark-picked').addEventListener('click', () => {
    const picked = pickedEntries();
    if (picked.length === 0)
      return note($('#bookmark-message'), 'pick keys or folders in the tree first (Ctrl-click)', 'error');
    add(picked);
  });
  render();
}
