// The find panel: text or regex over key names and values under a prefix, matches shown as they
// come, 50 to a page, and a Stop button that cancels the scan between or during its reads.
import { session } from './connection.js';
import { $, el, formatSize, keyLabel, note, onSubmit, utf8 } from './dom.js';
import { select } from './key-tree.js';
import { MAX_KEPT, ValueSearch } from './value-search.js';

const PER_PAGE = 50;
let search;
let controller;
let page = 0;
let started = 0;

function render() {
  const panel = $('#find-panel');
  if (!search) return;
  const pages = Math.max(1, Math.ceil(search.matches.length / PER_PAGE));
  page = Math.min(page, pages - 1);
  const shown = search.matches.slice(page * PER_PAGE, (page + 1) * PER_PAGE);
  $('#find-results').replaceChildren(
    ...shown.map((m) =>
      el(
        'li',
        { dataset: { key: keyLabel(m.key), in: m.in } },
        el('button', { type: 'button', className: 'link', textContent: keyLabel(m.key), onclick: () => select(m.key) }),
        el('span', { className: 'where', textContent: ` ${m.in === 'key' ? 'name' : `value, ${formatSize(m.size)}`}` }),
        el(
          'div',
          { className: 'snippet' },
          m.snippet.before,
          el('mark', { textContent: m.snippet.match }),
          m.snippet.after,
        ),
      ),
    ),
  );
  $('#find-paging').hidden = pages <= 1;
  $('#find-page').textContent = `page ${page + 1} of ${pages}`;
  $('#find-prev').disabled = page === 0;
  $('#find-next').disabled = page >= pages - 1;
  const ms = Math.round(performance.now() - started);
  const state = search.done ? 'done' : controller?.signal.aborted ? 'stopped' : 'running';
  panel.dataset.state = state;
  const found = `${search.found.toLocaleString('en')} match${search.found === 1 ? '' : 'es'}`;
  const read = `${search.scanned.toLocaleString('en')} keys (${formatSize(search.bytes)} in ${search.pages} page${search.pages === 1 ? '' : 's'}, largest ${formatSize(search.largestPage)})`;
  const kept = search.found > MAX_KEPT ? `; the first ${MAX_KEPT.toLocaleString('en')} listed` : '';
  note(
    $('#find-message'),
    state === 'done'
      ? `${found} in ${read} at revision ${search.revision}, ${ms} ms${kept}`
      : state === 'stopped'
        ? `stopped: ${found} in the first ${read}`
        : `${found} so far, ${read} searched…`,
  );
  panel.dataset.ms = String(ms);
}

async function find() {
  if (!session.etcd) throw new Error('not connected');
  controller?.abort();
  const query = $('#find-query').value;
  if (!query) throw new Error('type what to find');
  const mine = new AbortController();
  controller = mine;
  search = new ValueSearch(utf8($('#find-prefix').value), query, {
    regex: $('#find-regex').checked,
    matchCase: $('#find-case').checked,
    where: $('#find-in').value,
  });
  page = 0;
  started = performance.now();
  $('#find-panel').dataset.state = 'running';
  note($('#find-message'), 'searching…', 'pending');
  $('#find-stop').disabled = false;
  const current = search;
  try {
    await current.run(session.etcd, mine.signal, () => current === search && render());
  } catch (error) {
    if (!mine.signal.aborted) throw error;
  } finally {
    if (current === search) {
      $('#find-stop').disabled = true;
      render();
    }
  }
}

export function initFindPanel() {
  onSubmit($('#find-form'), find, $('#find-message'));
  $('#find-stop').addEventListener('click', () => {
    controller?.abort(new DOMException('stopped', 'AbortError'));
    render();
  });
  $('#find-prev').addEventListener('click', () => {
    page--;
    render();
  });
  $('#find-next').addEventListener('click', () => {
    page++;
    render();
  });
  // The prefix follows the tree's until the user types one.
  $('#find-prefix').addEventListener('input', () => ($('#find-prefix').dataset.typed = 'true'));
  session.addEventListener('browse', (event) => {
    if (!$('#find-prefix').dataset.typed) $('#find-prefix').value = event.detail.prefix;
  });
  session.addEventListener('connected', () => {
    controller?.abort();
    search = undefined;
    $('#find-results').replaceChildren();
    note($('#find-message'), '');
  });
}
