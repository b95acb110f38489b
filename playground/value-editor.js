// The value editor: the selected key's value (text, pretty JSON or hex) and metadata, saved
// with compare-and-swap on its mod revision, deleted after a confirmation; and the new-key form.
import { cmp, op } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import {
  $,
  compareBytes,
  confirmDialog,
  el,
  formatSize,
  hex,
  hexDump,
  hexId,
  keyLabel,
  note,
  onSubmit,
  parseHex,
  report,
  strictText,
  utf8,
} from './dom.js';
import { select } from './key-tree.js';
import { isLarge, largeView, showLargeNotice } from './large-value.js';

let current; // the KeyValue shown, or undefined
let currentKey; // its key bytes (kept after a delete)
let view = 'text'; // the view shown
let chosen; // the view the user picked (undefined: the best one for each value)
let dirty = false; // the textarea holds unsaved edits
let base = 0; // the mod revision the text being edited was read at (0: the key did not exist)

/** Reads a value typed in a textarea as text or hex. */
function valueFrom(textarea, encoding) {
  return encoding === 'hex' ? parseHex(textarea.value) : textarea.value;
}

/** Put options for a lease select: '' = none, 'keep' = keep the key's lease, else a lease ID. */
function leaseOptions(choice) {
  if (choice === 'keep') return { ignoreLease: true };
  return choice ? { lease: choice } : {};
}

function jsonView(bytes) {
  const decoded = strictText(bytes);
  if (decoded === undefined) return undefined;
  try {
    return JSON.stringify(JSON.parse(decoded), null, 2);
  } catch {
    return undefined;
  }
}

function render() {
  const detail = $('#kv-detail');
  $('#kv-empty').hidden = currentKey !== undefined;
  detail.hidden = currentKey === undefined;
  if (currentKey === undefined) return;
  $('#kv-key').textContent = keyLabel(currentKey);
  const kv = current;
  const meta = $('#kv-meta');
  meta.replaceChildren();
  const row = (name, value) =>
    meta.append(el('dt', { textContent: name }), el('dd', { textContent: value, dataset: { field: name } }));
  showLargeNotice(currentKey, kv);
  if (!kv) {
    if (!dirty) base = 0;
    row('state', 'deleted');
    $('#kv-view').textContent = '(this key does not exist)';
    detail.dataset.state = 'deleted';
    return;
  }
  detail.dataset.state = 'present';
  row('version', String(kv.version));
  row('created', `rev ${kv.createRevision}`);
  row('modified', `rev ${kv.modRevision}`);
  row('lease', kv.lease === '0' ? 'none' : `${hexId(kv.lease)} (${kv.lease})`);
  row('size', formatSize(kv.value.length));
  const large = isLarge(kv);
  const decoded = large ? strictText(kv.value.subarray(0, 1024)) : strictText(kv.value);
  const pretty = large ? undefined : jsonView(kv.value);
  $('#view-json').disabled = pretty === undefined;
  $('#view-text').disabled = decoded === undefined;
  // The user's pick when this value allows it, else the best view for it (a binary key's hex does not stick).
  view = chosen ?? (pretty !== undefined ? 'json' : 'text');
  if ((view === 'json' && pretty === undefined) || (view === 'text' && decoded === undefined))
    view = decoded === undefined ? 'hex' : 'text';
  for (const button of document.querySelectorAll('#kv-views button'))
    button.setAttribute('aria-pressed', String(button.dataset.view === view));
  const shown = large
    ? largeView(kv.value, view)
    : view === 'json'
      ? pretty
      : view === 'hex'
        ? hexDump(kv.value)
        : decoded;
  $('#kv-view').textContent = shown === '' ? '(empty value)' : shown;
  $('#kv-view').dataset.view = view;
  if (large) $('#kv-value').value = '';
  else if (!dirty) {
    base = kv.modRevision;
    $('#kv-encoding').value = decoded === undefined ? 'hex' : 'text';
    $('#kv-value').value = pretty ?? decoded ?? hex(kv.value).replace(/(..)/g, '$1 ').trim();
  }
}

async function show(key) {
  currentKey = key;
  dirty = false;
  chosen = undefined;
  note($('#kv-message'), '');
  current = await session.etcd.get(key);
  render();
}

async function save() {
  const value = valueFrom($('#kv-value'), $('#kv-encoding').value);
  const options = leaseOptions($('#kv-lease').value);
  // Saves only if nobody wrote the key since the text was read; a key read as deleted must still be absent.
  const guard = base ? cmp.modRevision(currentKey, '=', base) : cmp.version(currentKey, '=', 0);
  if (!base && options.ignoreLease) delete options.ignoreLease;
  const result = await session.etcd
    .txn()
    .if(guard)
    .then(op.put(currentKey, value, options))
    .else(op.get(currentKey))
    .commit();
  if (!result.succeeded) {
    current = result.results[0];
    base = current?.modRevision ?? 0;
    dirty = true;
    render();
    note(
      $('#kv-message'),
      `not saved: the key changed at revision ${current?.modRevision ?? result.revision} since you read it. Your text is kept; Save again to overwrite.`,
      'error',
    );
    return;
  }
  dirty = false;
  note($('#kv-message'), `saved at revision ${result.revision}`);
  current = await session.etcd.get(currentKey);
  render();
  session.changed('put', currentKey, result.revision, current);
}

async function remove() {
  const label = keyLabel(currentKey);
  if (!(await confirmDialog(`Delete the key “${label}”? This cannot be undone.`))) return;
  const { deleted, revision } = await session.etcd.del(currentKey);
  note($('#kv-message'), deleted ? `deleted at revision ${revision}` : 'it was already gone');
  current = undefined;
  render();
  session.changed('delete', currentKey, revision);
}

async function create() {
  const key = $('#put-key').value;
  if (!key) throw new Error('a key is needed');
  const value = valueFrom($('#put-value'), $('#put-encoding').value);
  const { revision } = await session.etcd.put(key, value, leaseOptions($('#put-lease').value));
  note($('#put-message'), `put ${key} at revision ${revision}`);
  $('#put-key').value = '';
  $('#put-value').value = '';
  session.changed('put', utf8(key), revision);
  select(utf8(key));
}

export function initValueEditor() {
  session.addEventListener('select', (event) =>
    show(event.detail.key).catch((error) => report(error, $('#kv-message'))),
  );
  session.addEventListener('connected', () => {
    current = undefined;
    currentKey = undefined;
    render();
  });
  // Another client (seen by the watch) or another panel changed the key on show.
  session.addEventListener('change', (event) => {
    const { type, key, kv, revision, local } = event.detail;
    if (currentKey === undefined || compareBytes(key, currentKey) !== 0) return;
    if (local && (type === 'delete' ? current === undefined : current?.modRevision === revision)) return;
    if (type === 'put' && current && revision <= current.modRevision) return;
    if (type === 'delete') current = undefined;
    else if (kv && kv.value !== undefined && kv.version > 0) current = kv;
    else {
      session.etcd.get(key).then(
        (fresh) => {
          current = fresh;
          render();
        },
        (error) => report(error, $('#kv-message')),
      );
      return;
    }
    if (dirty) note($('#kv-message'), `changed elsewhere at revision ${revision}; your unsaved text is kept`, 'error');
    render();
  });
  for (const button of document.querySelectorAll('#kv-views button')) {
    button.addEventListener('click', () => {
      view = button.dataset.view;
      chosen = view;
      render();
    });
  }
  $('#kv-value').addEventListener('input', () => (dirty = true));
  onSubmit($('#kv-edit'), save, $('#kv-message'));
  $('#kv-delete').addEventListener('click', () => remove().catch((error) => report(error, $('#kv-message'))));
  onSubmit($('#put-form'), create, $('#put-message'));
  render();
}
