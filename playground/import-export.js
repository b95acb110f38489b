// Import / export of a prefix as JSON: {"format": "etcd-playground/1", "prefix", "revision",
// "kvs": [{"key", "value"} | {"key", "valueBase64"} | {"keyBase64", ...}]}; text that is not UTF-8
// travels as base64. An import is previewed first (what it creates, changes, leaves alone), and
// then written in txns that compare every key's mod revision with the one previewed: a key
// changed since the preview makes its txn refuse, and nothing of that txn is written.
import { cmp, op } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, compareBytes, describeError, el, keyLabel, note, onSubmit, strictText, utf8 } from './dom.js';
import { readPages } from './paged-read.js';

export const FORMAT = 'etcd-playground/1';
const TXN_OPS = 100; // etcd's default --max-txn-ops is 128
// etcd refuses a request over --max-request-bytes (1.5 MiB by default); each key travels twice
// (compare and put), and a txn under this leaves room for the rest of the request.
const TXN_BYTES = 1024 * 1024;
const PREVIEW_ROWS = 300;
let plan; // { changes: [{ key, value, modRevision, kind }] } from the last preview

const toBase64 = (bytes) => {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

export function encodeEntry(kv) {
  const key = strictText(kv.key);
  const value = strictText(kv.value);
  return {
    ...(key === undefined ? { keyBase64: toBase64(kv.key) } : { key }),
    ...(value === undefined ? { valueBase64: toBase64(kv.value) } : { value }),
  };
}

function decodeEntry(entry, i) {
  const key =
    typeof entry.key === 'string'
      ? utf8(entry.key)
      : typeof entry.keyBase64 === 'string'
        ? fromBase64(entry.keyBase64)
        : undefined;
  const value =
    typeof entry.value === 'string'
      ? utf8(entry.value)
      : typeof entry.valueBase64 === 'string'
        ? fromBase64(entry.valueBase64)
        : undefined;
  if (!key || key.length === 0 || !value)
    throw new Error(`entry ${i + 1} needs "key" (or "keyBase64") and "value" (or "valueBase64")`);
  return { key, value };
}

async function exportPrefix() {
  const prefixText = $('#io-prefix').value;
  let revision;
  const kvs = [];
  // Pages bounded by bytes: a prefix of 100 MiB of values exports without one huge answer.
  for await (const page of readPages(session.etcd, { prefix: utf8(prefixText) })) {
    revision = page.revision;
    kvs.push(...page.kvs.map(encodeEntry));
  }
  revision ??= (await session.etcd.range({ prefix: utf8(prefixText) }, { countOnly: true })).revision;
  const json = downloadExport(kvs, prefixText, revision);
  if (json.length < 200_000) $('#import-text').value = json;
  note($('#io-message'), `exported ${kvs.length} key(s) at revision ${revision}`);
}

/** Downloads `kvs` (encoded entries) as an export file; returns its JSON. */
export function downloadExport(kvs, prefixText, revision, name = prefixText) {
  const json = JSON.stringify({ format: FORMAT, prefix: prefixText, revision, kvs }, null, 1);
  const link = el('a', {
    href: URL.createObjectURL(new Blob([json], { type: 'application/json' })),
    download: `etcd-${name.replace(/[^\w.-]+/g, '_') || 'all'}-rev${revision}.json`,
  });
  document.body.append(link);
  link.click();
  link.remove();
  return json;
}

async function preview() {
  const file = $('#import-file').files?.[0];
  const text = file ? await file.text() : $('#import-text').value;
  let document_;
  try {
    document_ = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON: ${error.message}`);
  }
  const entries = Array.isArray(document_) ? document_ : document_?.kvs;
  if (!Array.isArray(entries)) throw new Error('expected {"kvs": [...]} or an array of {"key", "value"}');
  const wanted = entries.map(decodeEntry);
  const now = await Promise.all(wanted.map(({ key }) => session.etcd.get(key)));
  const changes = wanted.map(({ key, value }, i) => {
    const kv = now[i];
    const kind = !kv ? 'create' : compareBytes(kv.value, value) === 0 ? 'same' : 'update';
    return { key, value, current: kv?.value, modRevision: kv?.modRevision ?? 0, kind };
  });
  plan = { changes };
  const counts = { create: 0, update: 0, same: 0 };
  for (const change of changes) counts[change.kind]++;
  const table = $('#import-preview');
  table.hidden = false;
  const shown = changes.filter((c) => c.kind !== 'same').slice(0, PREVIEW_ROWS);
  const short = (bytes) =>
    bytes === undefined ? '—' : (strictText(bytes) ?? `(${bytes.length} binary bytes)`).slice(0, 60);
  $('tbody', table).replaceChildren(
    ...shown.map((c) =>
      el(
        'tr',
        { className: c.kind, dataset: { key: keyLabel(c.key) } },
        el('td', { textContent: keyLabel(c.key) }),
        el('td', { textContent: c.kind }),
        el('td', { textContent: short(c.current) }),
        el('td', { textContent: short(c.value) }),
      ),
    ),
  );
  $('#import-apply').disabled = counts.create + counts.update === 0;
  note(
    $('#io-message'),
    `preview: ${counts.create} to create, ${counts.update} to change, ${counts.same} unchanged${shown.length < counts.create + counts.update ? ` (first ${PREVIEW_ROWS} listed)` : ''}`,
  );
}

async function apply() {
  const changes = plan?.changes.filter((c) => c.kind !== 'same') ?? [];
  let written = 0;
  for (const batch of txnBatches(changes)) {
    const result = await session.etcd
      .txn()
      .if(
        ...batch.map((c) => (c.modRevision ? cmp.modRevision(c.key, '=', c.modRevision) : cmp.version(c.key, '=', 0))),
      )
      .then(...batch.map((c) => op.put(c.key, c.value)))
      .commit();
    if (!result.succeeded) {
      $('#import-apply').disabled = true;
      return note(
        $('#io-message'),
        `refused: some of the keys ${keyLabel(batch[0].key)} … ${keyLabel(batch.at(-1).key)} changed since the preview; ${written} key(s) written before that. Preview again.`,
        'error',
      );
    }
    written += batch.length;
    for (const c of batch) session.changed('put', c.key, result.revision);
  }
  $('#import-apply').disabled = true;
  plan = undefined;
  note($('#io-message'), `imported ${written} key(s)`);
}

/** `changes` in runs of at most TXN_OPS puts and TXN_BYTES of keys and values (a larger value goes alone). */
function* txnBatches(changes) {
  let batch = [];
  let bytes = 0;
  for (const change of changes) {
    const size = 2 * change.key.length + change.value.length;
    if (batch.length > 0 && (batch.length === TXN_OPS || bytes + size > TXN_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(change);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

export function initImportExport() {
  onSubmit($('#export-form'), exportPrefix, $('#io-message'));
  onSubmit($('#import-form'), preview, $('#io-message'));
  $('#import-apply').addEventListener('click', () =>
    apply().catch((error) => note($('#io-message'), describeError(error), 'error')),
  );
  for (const input of ['#import-text', '#import-file'])
    $(input).addEventListener('input', () => ($('#import-apply').disabled = true));
}
