// Cluster status (members, leader, DB size, revision) and leases with their TTLs counting down.
// Each member's status is asked of that member (status needs no token).
import { memberList, status } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, describeError, el, formatSize, hexId, note, onSubmit, report } from './dom.js';
import { defragmentMember } from './maintenance-panel.js';

const CLUSTER_EVERY = 3_000;
const LEASES_EVERY = 5_000;

let leases = []; // { id, ttl, grantedTtl, keys, at }: ttl as read at `at` (performance.now())
const kept = new Map(); // lease ID -> Lease object this page keeps alive

async function refreshCluster() {
  const etcd = session.etcd;
  if (!etcd) return;
  const table = $('#members tbody');
  const { members, header } = await memberList(etcd);
  const rows = await Promise.all(
    members.map(async (member) => {
      const urls = member.clientUrls.length > 0 ? member.clientUrls : [];
      const answer =
        urls.length === 0
          ? new Error('not started')
          : await status(etcd, { member: urls[0], timeout: 2_000 }).catch((error) => error);
      return { member, status: answer };
    }),
  );
  const healthy = rows.find((r) => !(r.status instanceof Error));
  const leaderId = healthy?.status.leader;
  const leader = members.find((m) => m.id === leaderId);
  $('#cluster-summary').textContent = [
    `cluster ${hexId(header.clusterId)}`,
    `${members.length} member${members.length === 1 ? '' : 's'}`,
    `leader ${leader ? leader.name || hexId(leader.id) : 'none'}`,
    `revision ${healthy?.status.header.revision ?? header.revision}`,
    healthy ? `DB ${formatSize(healthy.status.dbSize)}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  table.replaceChildren(
    ...rows.map(({ member, status }) => {
      const ok = !(status instanceof Error);
      return el(
        'tr',
        { className: member.id === leaderId ? 'leader' : '', dataset: { member: member.name } },
        el('td', {
          textContent: `${member.name || '(unstarted)'}${member.id === leaderId ? ' ★' : ''}${member.isLearner ? ' (learner)' : ''}`,
          title: hexId(member.id),
        }),
        el('td', { textContent: member.clientUrls.join(', ') }),
        el('td', { textContent: ok ? status.version : '—' }),
        el('td', { textContent: ok ? formatSize(status.dbSize) : '—' }),
        el('td', { textContent: ok ? String(status.header.revision) : '—' }),
        el('td', {
          textContent: ok ? `${status.raftTerm} / ${status.raftIndex}` : describeError(status),
          className: ok ? '' : 'error',
        }),
        el(
          'td',
          {},
          el('button', {
            type: 'button',
            className: 'small',
            textContent: 'Defragment',
            ariaLabel: `defragment ${member.name}`,
            disabled: !ok,
            onclick: () => defragmentMember(member),
          }),
        ),
      );
    }),
  );
}

async function refreshLeases() {
  const etcd = session.etcd;
  const ids = await etcd.leases();
  const infos = await Promise.all(ids.map((id) => etcd.timeToLive(id, { keys: true }).catch(() => undefined)));
  const at = performance.now();
  leases = infos
    .filter((info) => info && info.ttl >= 0)
    .map((info) => ({ id: info.id, ttl: info.ttl, grantedTtl: info.grantedTtl, keys: info.keys.length, at }));
  renderLeases();
}

function remaining(lease) {
  return Math.max(0, lease.ttl - Math.floor((performance.now() - lease.at) / 1000));
}

function renderLeases() {
  const body = $('#leases tbody');
  body.replaceChildren(
    ...leases.map((lease) =>
      el(
        'tr',
        { dataset: { lease: lease.id } },
        el('td', { textContent: hexId(lease.id), title: lease.id }),
        el('td', { className: 'ttl', textContent: `${remaining(lease)} s` }),
        el('td', { textContent: `${lease.grantedTtl} s${kept.has(lease.id) ? ' ↻' : ''}` }),
        el('td', { textContent: String(lease.keys) }),
        el(
          'td',
          {},
          el('button', {
            type: 'button',
            textContent: 'Revoke',
            onclick: () => revoke(lease.id).catch((e) => report(e, $('#lease-message'))),
          }),
        ),
      ),
    ),
  );
  if (leases.length === 0)
    body.append(el('tr', {}, el('td', { colSpan: 5, className: 'empty', textContent: 'no leases' })));
  // Offer the leases wherever a put can attach one.
  for (const select of document.querySelectorAll('select.lease-select')) {
    const chosen = select.value;
    for (const option of select.querySelectorAll('option[data-lease]')) option.remove();
    for (const lease of leases)
      select.append(
        el('option', {
          value: lease.id,
          textContent: `lease ${hexId(lease.id)} (${lease.grantedTtl} s)`,
          dataset: { lease: lease.id },
        }),
      );
    select.value = [...select.options].some((o) => o.value === chosen) ? chosen : select.options[0].value;
  }
}

function tick() {
  for (const row of document.querySelectorAll('#leases tbody tr[data-lease]')) {
    const lease = leases.find((l) => l.id === row.dataset.lease);
    if (lease) row.querySelector('.ttl').textContent = `${remaining(lease)} s`;
  }
}

async function grant() {
  const ttl = Number($('#grant-ttl').value);
  const keepAlive = $('#grant-keepalive').checked;
  const lease = await session.etcd.grant(ttl, { keepAlive });
  if (keepAlive) kept.set(lease.id, lease);
  note(
    $('#lease-message'),
    `granted lease ${hexId(lease.id)} for ${lease.ttl} s${keepAlive ? ', kept alive by this page' : ''}`,
  );
  await refreshLeases();
}

async function revoke(id) {
  const lease = kept.get(id);
  kept.delete(id);
  if (lease) await lease.revoke();
  else await session.etcd.revoke(id);
  note($('#lease-message'), `revoked lease ${hexId(id)}: its keys are deleted`);
  await refreshLeases();
}

/** Runs `task` now and every `ms` while connected to the same client, skipping overlaps. */
function every(ms, task, target) {
  let running = false;
  const run = () => {
    if (running || !session.etcd || document.hidden) return;
    running = true;
    task()
      .then(() => target?.className.includes('error') && note(target, ''))
      .catch((error) => note(target, describeError(error), 'error'))
      .finally(() => (running = false));
  };
  setInterval(run, ms);
  return run;
}

export function initClusterPanel() {
  const cluster = every(CLUSTER_EVERY, refreshCluster, $('#cluster-message'));
  const leaseRefresh = every(LEASES_EVERY, refreshLeases, $('#lease-message'));
  setInterval(tick, 1_000);
  session.addEventListener('connected', () => {
    cluster();
    leaseRefresh();
  });
  // Writes move the revision and the DB size: refresh soon after a burst of them.
  let _soon;
  session.addEventListener('change', () => {
    _soon ??= setTimeout(() => {
      _soon = undefined;
      cluster();
    }, 1_000);
  });
  // A put with a lease changes that lease's key count.
  session.addEventListener('change', (event) => event.detail.kv && event.detail.kv.lease !== '0' && leaseRefresh());
  onSubmit($('#grant'), grant, $('#lease-message'));
  $('#cluster-refresh').addEventListener('click', () => cluster());
}
