// Key history: etcd keeps every version of a key (MVCC) until it compacts. From the value now,
// each older version is read at the revision just before the newer one's mod revision, down to
// the create revision (version 1) or to the compaction point, which is named. Each version shows
// its revision, size and a diff against the version before it; any one can be restored with a
// compare-and-swap txn (only if the key has not changed since the history was read).
import { CompactedError, cmp, op } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, compareBytes, confirmDialog, describeError, el, formatSize, keyLabel, note } from './dom.js';
import { diffLines, printable } from './text-diff.js';

const MAX_VERSIONS = 100;
let key; // the key whose history is shown
let versions = []; // newest first

/** The oldest revision etcd still keeps, asked with a watch from revision 1 (etcd answers with it). */
async function compactRevision(etcd, target) {
  const controller = new AbortController();
  const watch = etcd.watch({ key: target, startRevision: 1, signal: controller.signal });
  const timer = setTimeout(() => controller.abort(), 3_000);
  try {
    for await (const _ of watch.responses()) break;
    return undefined;
  } catch (error) {
    return error?.compactRevision;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function load() {
  const etcd = session.etcd;
  const target = key;
  const message = $('#history-message');
  note(message, 'reading versions…', 'pending');
  versions = [];
  let kv = await etcd.get(target);
  if (!kv) {
    render();
    return note(message, 'the key does not exist now: nothing to show', 'off');
  }
  let cut; // the revision etcd compacted to, when it cut the history short
  while (kv && versions.length < MAX_VERSIONS) {
    versions.push(kv);
    if (kv.version === 1) break;
    try {
      kv = await etcd.get(target, { revision: kv.modRevision - 1 });
    } catch (error) {
      if (!(error instanceof CompactedError)) throw error;
      cut = (await compactRevision(etcd, target)) ?? kv.modRevision - 1;
      break;
    }
  }
  if (target !== key) return;
  render(cut);
  const first = versions.at(-1);
  if (cut)
    note(
      message,
      `${versions.length} version(s); etcd compacted its history at revision ${cut}: versions 1–${first.version - 1} (before revision ${first.modRevision}) are gone`,
      'pending',
    );
  else if (first.version === 1)
    note(message, `${versions.length} version(s), since its creation at revision ${first.createRevision}`);
  else note(message, `the newest ${MAX_VERSIONS} versions`);
}

function diffView(older, newer) {
  if (!older)
    return el('pre', { className: 'diff', textContent: `created: ${printable(newer.value).text.slice(0, 2_000)}` });
  const before = printable(older.value);
  const after = printable(newer.value);
  if (before.binary || after.binary)
    return el('pre', {
      className: 'diff',
      textContent: `binary value: ${formatSize(older.value.length)} → ${formatSize(newer.value.length)}`,
    });
  const lines = diffLines(before.text, after.text);
  return el(
    'pre',
    { className: 'diff' },
    ...lines.map(([kind, line]) =>
      el('span', {
        className: kind === '+' ? 'add' : kind === '-' ? 'del' : 'same',
        textContent: `${kind === ' ' ? ' ' : kind} ${line}\n`,
      }),
    ),
  );
}

function render(cut) {
  const list = $('#history-list');
  list.replaceChildren(
    ...versions.map((kv, i) =>
      el(
        'li',
        { dataset: { revision: String(kv.modRevision), version: String(kv.version) } },
        el(
          'div',
          { className: 'meta' },
          el('strong', { textContent: `version ${kv.version}` }),
          el('span', { textContent: `rev ${kv.modRevision}` }),
          el('span', { textContent: formatSize(kv.value.length) }),
          i === 0
            ? el('em', { textContent: 'current' })
            : el('button', {
                type: 'button',
                className: 'small restore',
                textContent: 'Restore',
                onclick: () => restore(kv).catch((error) => note($('#history-message'), describeError(error), 'error')),
              }),
        ),
        diffView(versions[i + 1], kv),
      ),
    ),
  );
  if (cut)
    list.append(
      el('li', { className: 'compacted', textContent: `— compacted at revision ${cut}: older versions are gone —` }),
    );
}

async function restore(old) {
  if (
    !(await confirmDialog(
      `Restore version ${old.version} (revision ${old.modRevision}) of “${keyLabel(key)}”? It becomes a new version.`,
      'Restore',
    ))
  )
    return;
  const current = versions[0];
  const result = await session.etcd
    .txn()
    .if(cmp.modRevision(key, '=', current.modRevision))
    .then(op.put(key, old.value, { ignoreLease: true }))
    .commit();
  if (!result.succeeded) {
    note(
      $('#history-message'),
      'not restored: the key changed since its history was read; the history is read again',
      'error',
    );
    return load();
  }
  versions = []; // read again just below: the change event must not start a second, racing read
  session.changed('put', key, result.revision);
  await load();
  note(
    $('#history-message'),
    `restored version ${old.version} as version ${versions[0].version} at revision ${result.revision}`,
  );
}

export function initKeyHistory() {
  const run = () => load().catch((error) => note($('#history-message'), describeError(error), 'error'));
  $('#history-load').addEventListener('click', run);
  session.addEventListener('select', (event) => {
    key = event.detail.key;
    versions = [];
    $('#history-list').replaceChildren();
    note($('#history-message'), '');
  });
  // A new version of the key on show: read the history again if it is open.
  session.addEventListener('change', (event) => {
    if (
      key &&
      versions.length > 0 &&
      compareBytes(event.detail.key, key) === 0 &&
      event.detail.revision > versions[0].modRevision
    )
      run();
  });
}
