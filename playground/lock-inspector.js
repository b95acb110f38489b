// Locks and elections under a prefix (see lock-model.js for how they are recognised): for each
// lock its holder and the queue waiting behind it, for each election its leader, the leader's
// value and the other candidates, every lease's TTL counting down. A watch on the prefix reads
// them again on every change; a stuck holder's lease can be revoked, after a confirmation.
import { revoke, timeToLive } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, confirmDialog, describeError, el, hexId, keyLabel, note, onSubmit, utf8 } from './dom.js';
import { openFeed } from './live-feed.js';
import { findQueues } from './lock-model.js';
import { readSnapshot } from './time-snapshot.js';

const TTL_EVERY = 5_000; // how often the TTLs are asked again (keep-alives move them up)
let prefixText;
let queues = [];
let feed;
let reading; // the read in flight
let again = false; // a change came during that read
const ttls = new Map(); // lease ID -> { ttl, at }

const panel = () => $('#locks-panel');

async function read() {
  const etcd = session.etcd;
  const prefix = utf8(prefixText);
  const { kvs, revision } = await readSnapshot(etcd, prefix);
  // Values only of the recipe keys (an election shows its leader's value).
  const found = findQueues(kvs);
  const withValues = await Promise.all(
    found.map(async (queue) => ({
      ...queue,
      queue: (await Promise.all(queue.queue.map((kv) => etcd.get(kv.key, { revision })))).filter(Boolean),
    })),
  );
  queues = findQueues(withValues.flatMap((queue) => queue.queue));
  await readTtls(etcd);
  render();
  const locks = queues.filter((q) => q.kind === 'lock').length;
  $('#locks-count').textContent =
    `${locks} lock${locks === 1 ? '' : 's'}, ${queues.length - locks} election${queues.length - locks === 1 ? '' : 's'}`;
  panel().dataset.revision = String(revision);
  note(
    $('#locks-message'),
    queues.length === 0
      ? `no lock or election under “${prefixText || '(all keys)'}”`
      : `as of revision ${revision}, live`,
  );
}

async function readTtls(etcd) {
  const leases = new Set(queues.flatMap((queue) => queue.queue.map((kv) => kv.lease)));
  for (const id of ttls.keys()) if (!leases.has(id)) ttls.delete(id);
  await Promise.all(
    [...leases].map(async (id) => {
      const { ttl } = await timeToLive(etcd, id).catch(() => ({ ttl: -1 }));
      ttls.set(id, { ttl, at: performance.now() });
    }),
  );
}

/** Reads again: one read at a time, and one more if anything changed meanwhile. */
function refresh() {
  if (reading) {
    again = true;
    return reading;
  }
  reading = read()
    .catch((error) => note($('#locks-message'), describeError(error), 'error'))
    .finally(() => {
      reading = undefined;
      if (again) {
        again = false;
        refresh();
      }
    });
  return reading;
}

function ttlLeft(id) {
  const known = ttls.get(id);
  if (!known) return '…';
  if (known.ttl < 0) return 'expired';
  return `${Math.max(0, known.ttl - Math.floor((performance.now() - known.at) / 1000))} s`;
}

function render() {
  $('#locks-list').replaceChildren(...queues.map(queueView));
}

function queueView({ kind, name, queue }) {
  const election = kind === 'election';
  const leader = queue[0];
  const summary = election
    ? el(
        'p',
        {},
        'Leader ',
        el('code', { textContent: keyLabel(leader.key) }),
        ' with the value ',
        el('code', { className: 'value', textContent: keyLabel(leader.value) }),
      )
    : el(
        'p',
        {},
        'Held by ',
        el('code', { textContent: keyLabel(leader.key) }),
        queue.length > 1 ? `; ${queue.length - 1} waiting` : '; nobody waiting',
      );
  return el(
    'article',
    { className: `queue ${kind}`, dataset: { name, kind } },
    el('h3', { textContent: `${election ? 'Election' : 'Lock'} ${name}` }),
    summary,
    el(
      'div',
      { className: 'table-scroll' },
      el(
        'table',
        {},
        el('caption', {
          className: 'visually-hidden',
          textContent: `${election ? 'candidates of' : 'queue of'} ${name}`,
        }),
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['Place', 'Lease', 'Since revision', 'TTL left', ...(election ? ['Value'] : []), 'Actions'].map((text) =>
              el('th', { scope: 'col', textContent: text }),
            ),
          ),
        ),
        el(
          'tbody',
          {},
          ...queue.map((kv, i) => {
            const role = i === 0 ? (election ? 'leader' : 'holder') : election ? `candidate ${i}` : `waiting ${i}`;
            return el(
              'tr',
              {
                className: i === 0 ? 'leader' : '',
                dataset: {
                  key: keyLabel(kv.key),
                  role: i === 0 ? (election ? 'leader' : 'holder') : 'waiting',
                  lease: hexId(kv.lease),
                },
              },
              el('td', { textContent: role }),
              el('td', {}, el('code', { textContent: hexId(kv.lease) })),
              el('td', { textContent: String(kv.createRevision) }),
              el('td', { className: 'ttl', dataset: { lease: kv.lease }, textContent: ttlLeft(kv.lease) }),
              ...(election ? [el('td', {}, el('code', { textContent: keyLabel(kv.value) }))] : []),
              el(
                'td',
                {},
                el('button', {
                  type: 'button',
                  className: 'small danger',
                  textContent: 'Revoke…',
                  ariaLabel: `Revoke the lease of ${keyLabel(kv.key)}`,
                  onclick: () =>
                    revokeOf(kv, role, name).catch((error) => note($('#locks-message'), describeError(error), 'error')),
                }),
              ),
            );
          }),
        ),
      ),
    ),
  );
}

async function revokeOf(kv, role, name) {
  const id = hexId(kv.lease);
  if (
    !(await confirmDialog(
      `Revoke lease ${id} (${role} of “${name}”)? etcd deletes every key attached to it, ${keyLabel(kv.key)} included; whoever uses that session loses it.`,
      'Revoke',
    ))
  )
    return;
  await revoke(session.etcd, kv.lease);
  note($('#locks-action'), `lease ${id} revoked`);
  await refresh();
}

function inspect() {
  prefixText = $('#locks-prefix').value;
  feed?.close();
  ttls.clear();
  panel().dataset.live = 'starting';
  feed = openFeed({
    prefix: utf8(prefixText),
    onEvents: () => refresh(),
    onState: (state, error) => {
      panel().dataset.live = state;
      if (state === 'error') note($('#locks-message'), `updates stopped: ${describeError(error)}`, 'error');
    },
    onCompacted: () => inspect(),
  });
  return refresh();
}

export function initLockInspector() {
  onSubmit($('#locks-form'), () => inspect(), $('#locks-message'));
  // The TTLs count down every second, and are asked again now and then.
  setInterval(() => {
    for (const cell of document.querySelectorAll('#locks-list td.ttl')) cell.textContent = ttlLeft(cell.dataset.lease);
  }, 1_000);
  setInterval(() => {
    if (feed && session.etcd && !reading && queues.length > 0)
      readTtls(session.etcd)
        .then(() => {
          for (const cell of document.querySelectorAll('#locks-list td.ttl'))
            cell.textContent = ttlLeft(cell.dataset.lease);
        })
        .catch(() => {});
  }, TTL_EVERY);
  session.addEventListener('connected', () => {
    if (feed) void inspect();
  });
}
