// Cluster maintenance: alarms (and disarming them), compaction, per-member defragmentation,
// and a snapshot download of the backend database.
import { alarmDisarm, alarmList, defragment, snapshot, status } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, confirmDialog, describeError, el, formatSize, hexId, note, onSubmit } from './dom.js';

const message = () => $('#maintenance-message');

async function refreshAlarms() {
  const alarms = await alarmList(session.etcd);
  const list = $('#alarm-list');
  list.className = alarms.length === 0 ? '' : 'error';
  if (alarms.length === 0) return void (list.textContent = 'none');
  list.replaceChildren(
    ...alarms.map((alarm) =>
      el(
        'span',
        { className: 'alarm', dataset: { alarm: alarm.alarm } },
        `${alarm.alarm} on member ${hexId(alarm.memberId)} `,
        el('button', {
          type: 'button',
          className: 'small',
          textContent: 'Disarm',
          onclick: () => disarm(alarm).catch((error) => note(message(), describeError(error), 'error')),
        }),
      ),
    ),
  );
}

async function disarm(alarm) {
  const hint =
    alarm.alarm === 'NOSPACE'
      ? ' Free space first (compact, then defragment), or etcd raises it again on the next write.'
      : '';
  if (
    !(await confirmDialog(
      `Disarm the ${alarm.alarm} alarm of member ${hexId(alarm.memberId)}? etcd accepts writes again.${hint}`,
      'Disarm',
    ))
  )
    return;
  await alarmDisarm(session.etcd, alarm);
  note(message(), `disarmed ${alarm.alarm}`);
  await refreshAlarms();
}

async function compact() {
  const revision = Number($('#compact-revision').value);
  if (!Number.isSafeInteger(revision) || revision < 1)
    throw new Error('give the revision to compact to (a whole number)');
  const text = `Compact to revision ${revision}? etcd forgets every version of every key older than that: key history before it is gone, and a watch or read at an older revision fails.`;
  if (!(await confirmDialog(text, 'Compact'))) return;
  await session.etcd.compact(revision, { physical: $('#compact-physical').checked });
  note(message(), `compacted to revision ${revision}`);
}

/** Defragments one member (it stops answering while it rewrites its database). */
export async function defragmentMember(member) {
  if (
    !(await confirmDialog(
      `Defragment ${member.name || member.id}? It rewrites its database file and answers no request meanwhile.`,
      'Defragment',
    ))
  )
    return;
  try {
    const before = await status(session.etcd, { member: member.id });
    await defragment(session.etcd, { member: member.id, timeout: 60_000 });
    const after = await status(session.etcd, { member: member.id });
    note(message(), `defragmented ${member.name}: ${formatSize(before.dbSize)} → ${formatSize(after.dbSize)}`);
  } catch (error) {
    note(message(), describeError(error), 'error');
  }
}

/** The snapshot as a Blob, read from etcd as the Blob takes it. */
async function snapshotBlob(etcd) {
  return new Response(await snapshot(etcd)).blob();
}

async function downloadSnapshot() {
  note(message(), 'reading the snapshot…', 'pending');
  const { revision } = await session.etcd.range({ key: 'health' }, { countOnly: true });
  const blob = await snapshotBlob(session.etcd);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `etcd-snapshot-rev${revision}.db`;
  document.body.append(link);
  link.click();
  link.remove();
  note(message(), `snapshot downloaded: ${formatSize(blob.size)} (about revision ${revision})`);
}

export function initMaintenance() {
  const alarms = () => refreshAlarms().catch((error) => note(message(), describeError(error), 'error'));
  session.addEventListener('connected', alarms);
  setInterval(() => session.etcd && !document.hidden && alarms(), 5_000);
  onSubmit($('#compact-form'), compact, message());
  $('#snapshot').addEventListener('click', () =>
    downloadSnapshot().catch((error) => note(message(), describeError(error), 'error')),
  );
}
