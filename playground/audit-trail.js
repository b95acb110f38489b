// The audit trail: every change under a prefix while the page is open (key, type, revision, value
// sizes before and after, lease), kept in IndexedDB with the last revision recorded, so that
// after a reload the journal resumes from there and loses nothing etcd still keeps (a compaction
// in between is written down as a gap). Filterable by key and type, exported as NDJSON.
import { WatchCompactedError } from '/dist/etcd-fetch.browser.js';
import { entriesOf, forget, journalId, journals, record, saveJournal } from './audit-store.js';
import { session } from './connection.js';
import { $, describeError, el, hexId, keyLabel, note, onSubmit, utf8 } from './dom.js';

const SHOWN = 200; // rows in the table (the newest that match); the export has them all
let journal; // { id, endpoints, prefix, lastRevision, recording }
let entries = [];
let controller;

const panel = () => $('#audit-panel');

function entryOf(event, journalIdValue) {
  return {
    journal: journalIdValue,
    key: keyLabel(event.kv.key),
    type: event.type,
    revision: event.revision,
    version: event.kv.version,
    size: event.type === 'put' ? event.kv.value.length : null,
    prevSize: event.prevKv ? event.prevKv.value.length : null,
    lease: event.kv.lease && event.kv.lease !== '0' ? hexId(event.kv.lease) : '',
    seenAt: new Date().toISOString(),
  };
}

async function start(prefix, resumed) {
  const etcd = session.etcd;
  controller?.abort();
  const mine = new AbortController();
  controller = mine;
  const id = journalId(session.endpoints, prefix);
  const known = (await journals()).find((j) => j.id === id);
  if (!known) {
    const { revision } = await etcd.range({ prefix: utf8(prefix) }, { countOnly: true });
    journal = { id, endpoints: session.endpoints, prefix, lastRevision: revision, recording: true };
  } else journal = { ...known, recording: true };
  await saveJournal(journal);
  entries = await entriesOf(id);
  $('#audit-prefix').value = prefix;
  render();
  panel().dataset.recording = 'true';
  $('#audit-stop').disabled = false;
  note(
    $('#audit-message'),
    `${resumed ? 'resumed' : 'recording'} from revision ${journal.lastRevision + 1} under “${prefix || '(all keys)'}”`,
  );
  void follow(etcd, mine);
}

async function follow(etcd, mine) {
  const current = journal;
  try {
    const watch = etcd.watch({
      prefix: utf8(current.prefix),
      startRevision: current.lastRevision + 1,
      prevKv: true,
      signal: mine.signal,
    });
    for await (const response of watch.responses()) {
      if (mine.signal.aborted) return;
      if (response.events.length === 0) continue;
      const added = response.events.map((event) => entryOf(event, current.id));
      current.lastRevision = response.revision;
      entries.push(...added);
      await record(current, added);
      render();
    }
  } catch (error) {
    if (mine.signal.aborted) return;
    if (error instanceof WatchCompactedError) {
      // The revisions since the last one recorded are gone: say so in the journal, then carry on.
      const gap = {
        journal: current.id,
        key: '',
        type: 'gap',
        revision: error.compactRevision,
        note: `revisions ${current.lastRevision + 1}–${error.compactRevision - 1} were compacted before they were recorded`,
        seenAt: new Date().toISOString(),
      };
      current.lastRevision = error.compactRevision - 1;
      entries.push(gap);
      await record(current, [gap]);
      render();
      return follow(etcd, mine);
    }
    note($('#audit-message'), `recording stopped: ${describeError(error)}`, 'error');
  }
}

async function stop() {
  controller?.abort();
  controller = undefined;
  if (journal) {
    journal.recording = false;
    await saveJournal(journal);
  }
  panel().dataset.recording = 'false';
  $('#audit-stop').disabled = true;
  note($('#audit-message'), `stopped at revision ${journal?.lastRevision ?? '—'}`, 'off');
}

function matching() {
  const text = $('#audit-filter').value.trim().toLowerCase();
  const type = $('#audit-type').value;
  return entries.filter((e) => (!type || e.type === type) && (!text || e.key.toLowerCase().includes(text)));
}

function render() {
  const found = matching();
  const newest = found.slice(-SHOWN).reverse();
  $('#audit-rows').replaceChildren(
    ...newest.map((e) =>
      el(
        'tr',
        { className: e.type, dataset: { key: e.key, type: e.type, revision: String(e.revision) } },
        el('td', { textContent: String(e.revision) }),
        el('td', { textContent: e.type }),
        el('td', {}, el('code', { textContent: e.type === 'gap' ? e.note : e.key })),
        el('td', { textContent: e.type === 'gap' ? '' : sizes(e) }),
        el('td', {}, el('code', { textContent: e.lease ?? '' })),
      ),
    ),
  );
  $('#audit-count').textContent =
    `${found.length.toLocaleString('en')} of ${entries.length.toLocaleString('en')} changes${found.length > SHOWN ? `, newest ${SHOWN} shown` : ''}`;
}

const sizes = (e) => `${e.prevSize === null ? '—' : `${e.prevSize} B`} → ${e.size === null ? '—' : `${e.size} B`}`;

function exportNdjson() {
  const lines = matching().map(({ journal: _, ...entry }) => JSON.stringify(entry));
  const blob = new Blob([lines.join('\n') + (lines.length ? '\n' : '')], { type: 'application/x-ndjson' });
  const link = el('a', {
    href: URL.createObjectURL(blob),
    download: `audit-${(journal?.prefix || 'all').replace(/[^\w.-]+/g, '_')}.ndjson`,
  });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

export function initAuditTrail() {
  // A scrolling table: reachable with the keyboard (axe's scrollable-region-focusable).
  $('#audit-scroll').tabIndex = 0;
  onSubmit($('#audit-form'), () => start($('#audit-prefix').value, false), $('#audit-message'));
  $('#audit-stop').addEventListener('click', () =>
    stop().catch((error) => note($('#audit-message'), describeError(error), 'error')),
  );
  $('#audit-clear').addEventListener('click', async () => {
    if (!journal) return;
    const { prefix, recording } = journal;
    await stop();
    await forget(journal.id);
    entries = [];
    journal = undefined;
    render();
    if (recording) await start(prefix, false);
  });
  $('#audit-filter').addEventListener('input', render);
  $('#audit-type').addEventListener('change', render);
  $('#audit-export').addEventListener('click', exportNdjson);
  // After a reload (or a new Connect): the journal that was recording on these endpoints resumes.
  session.addEventListener('connected', async () => {
    controller?.abort();
    try {
      const open = (await journals()).filter(
        (j) => j.recording && j.endpoints.join(',') === session.endpoints.join(','),
      );
      if (open.length > 0) await start(open[open.length - 1].prefix, true);
    } catch (error) {
      note($('#audit-message'), describeError(error), 'error');
    }
  });
}
