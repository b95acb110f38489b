import type { CallOptions, WireObject } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import { checkCount, decodeArray, decodeBool, decodeId, decodeInt, describe, encodeId } from '../core/codec.ts';
import { FailedPreconditionError, InvalidArgumentError, MalformedResponseError } from '../core/errors.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';
import { askEveryMember, type MemberReport } from './cluster-status.ts';
import { type MemberCallOptions, type MemberRef, memberEndpoint, memberId, resolveMember } from './member-target.ts';
import { Steps } from './steps.ts';

/**
 * The alarms etcd raises: out of space, or a corrupt member.
 *
 * @example
 * ```ts
 * const full = (await alarmList(etcd)).some((a) => a.alarm === 'NOSPACE');
 * ```
 */
export type AlarmType = 'NOSPACE' | 'CORRUPT';

/**
 * An alarm raised by a member.
 *
 * @example
 * ```ts
 * for (const { memberId, alarm } of await alarmList(etcd)) console.log(memberId, alarm);
 * ```
 */
export interface Alarm {
  /** The member that raised it (a decimal string). */
  memberId: string;
  alarm: AlarmType;
}

/**
 * What one member says about itself (the current endpoint's, or the one asked with `member`).
 *
 * @example
 * ```ts
 * const { version, dbSize, leader } = await status(etcd);
 * ```
 */
export interface MemberStatus {
  version: string;
  /** Size of the backend database file, in bytes. */
  dbSize: number;
  /** Bytes of the file in use (the rest is reclaimed by `defragment`). */
  dbSizeInUse: number;
  /** ID of the current leader (a decimal string). */
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  isLearner: boolean;
  /** Alarm descriptions of this member. */
  errors: string[];
  /** The backend quota (`--quota-backend-bytes`, 2 GiB by default) in bytes; 0 before etcd 3.6. */
  dbSizeQuota: number;
  /** The version of the data on disk, e.g. `3.6.0` (lower during a downgrade); `''` before etcd 3.6. */
  storageVersion: string;
  /** The cluster's downgrade, if one is enabled (see `downgrade`); never enabled before etcd 3.6. */
  downgradeInfo: DowngradeInfo;
  header: ResponseHeader;
}

/**
 * Whether the cluster is being downgraded, and to which minor version (etcd 3.6+'s `status`).
 *
 * @example
 * const { downgradeInfo } = await status(etcd);
 * if (downgradeInfo.enabled) console.log('downgrading to', downgradeInfo.targetVersion);   // '3.5.0'
 */
export interface DowngradeInfo {
  enabled: boolean;
  /** The cluster version the downgrade goes to, e.g. `3.5.0`; `''` when none is enabled. */
  targetVersion: string;
}

/**
 * `hashKV()`: the hash of the MVCC key-value store up to a revision, to compare members (equal
 * hashes at the same `hashRevision` and `compactRevision` mean equal data).
 *
 * @example
 * const { hash, hashRevision } = await hashKV(etcd, { member: 'http://10.0.0.1:2379' });
 */
export interface HashKV {
  hash: number;
  /** The revision hashed up to (the store's revision when 0 was asked). */
  hashRevision: number;
  /** The compaction revision when the hash was computed (-1: never compacted). */
  compactRevision: number;
  header: ResponseHeader;
}

/**
 * One member's part of `clusterStatus()`: its status, or why it could not be had.
 *
 * @example
 * for (const report of await clusterStatus(etcd)) {
 *   if (report.status) console.log(report.name, report.endpoint, report.status.raftIndex);
 *   else console.warn(report.name, report.endpoint, report.error.message);
 * }
 */
export type MemberStatusReport = MemberReport<MemberStatus>;

const ALARMS: readonly string[] = ['NOSPACE', 'CORRUPT'];
const NOT_LEADER = /not leader/i;

/**
 * What one member says about itself: version, database size, leader, raft position.
 * `status`, `hash`, `hashKV` and `defragment` concern one member: the client's current
 * endpoint, or the one named with `{ member }` (a client URL or a member ID); `clusterStatus`
 * asks them all.
 *
 * @example
 * const { leader, raftIndex } = await status(etcd);
 * await status(etcd, { member: 'http://10.0.0.2:2379' });   // or a member ID
 */
export async function status(client: Client, options: MemberCallOptions = {}): Promise<MemberStatus> {
  const wire = await aimed(coreOf(client), '/maintenance/status', {}, options, true);
  return {
    version: typeof wire.version === 'string' ? wire.version : '',
    dbSize: decodeInt(wire.dbSize, 'dbSize'),
    dbSizeInUse: decodeInt(wire.dbSizeInUse, 'dbSizeInUse'),
    leader: decodeId(wire.leader, 'leader'),
    raftIndex: decodeInt(wire.raftIndex, 'raftIndex'),
    raftTerm: decodeInt(wire.raftTerm, 'raftTerm'),
    raftAppliedIndex: decodeInt(wire.raftAppliedIndex, 'raftAppliedIndex'),
    isLearner: decodeBool(wire.isLearner),
    errors: decodeArray(wire.errors, 'errors').map(String),
    dbSizeQuota: decodeInt(wire.dbSizeQuota, 'dbSizeQuota'),
    storageVersion: typeof wire.storageVersion === 'string' ? wire.storageVersion : '',
    downgradeInfo: decodeDowngradeInfo(wire.downgradeInfo),
    header: decodeHeader(wire.header),
  };
}

/**
 * The status of every member in the member list, asked of each member at once: a member that
 * is down gets its error in its report, and never fails the whole.
 *
 * @example
 * const reports = await clusterStatus(etcd);
 * const down = reports.filter((r) => r.error !== undefined).map((r) => r.endpoint);
 */
export async function clusterStatus(client: Client, options: CallOptions = {}): Promise<MemberStatusReport[]> {
  const core = coreOf(client);
  return askEveryMember(core, (endpoint, callOptions) => status(core, { ...callOptions, member: endpoint }), options);
}

/**
 * Alarms raised anywhere in the cluster, or only those of one member with `{ member }`.
 *
 * @example
 * const alarms = await alarmList(etcd);
 * const mine = await alarmList(etcd, { member: 'http://10.0.0.2:2379' });
 */
export async function alarmList(client: Client, options: MemberCallOptions = {}): Promise<Alarm[]> {
  const core = coreOf(client);
  const { member, ...callOptions } = options;
  const steps = new Steps(core.transport, callOptions, '/v3/maintenance/alarm');
  try {
    const id = member === undefined ? undefined : (await resolveMember(core, member, steps.next())).id;
    const all = decodeAlarms(
      await core.transport.request(
        '/maintenance/alarm',
        { action: 'GET', memberID: '0', alarm: 'NONE' },
        { ...steps.next(), idempotent: true },
      ),
    );
    return id === undefined ? all : all.filter((a) => a.memberId === id);
  } catch (error) {
    throw steps.explain(error);
  }
}

/**
 * Clears one alarm, or every alarm raised (when none is named; only that member's with
 * `{ member }`). Free the space first (compact, defragment) or a NOSPACE alarm comes back on
 * the next write. Returns the alarms cleared.
 *
 * @example
 * await alarmDisarm(etcd);                                        // every alarm
 * await alarmDisarm(etcd, undefined, { member: 'http://10.0.0.2:2379' });   // that member's
 */
export async function alarmDisarm(client: Client, alarm?: Alarm, options: MemberCallOptions = {}): Promise<Alarm[]> {
  const core = coreOf(client);
  const { member, ...callOptions } = options;
  const steps = new Steps(core.transport, callOptions, 'disarming alarms');
  try {
    const targets = alarm === undefined ? await alarmList(core, { ...steps.next(), member }) : [checkAlarm(alarm)];
    const cleared: Alarm[] = [];
    for (const a of targets) {
      const wire = await core.transport.request(
        '/maintenance/alarm',
        { action: 'DEACTIVATE', memberID: encodeId(a.memberId, 'memberId'), alarm: a.alarm },
        steps.next(),
      );
      cleared.push(...decodeAlarms(wire));
    }
    return cleared;
  } catch (error) {
    throw steps.explain(error);
  }
}

/**
 * Rewrites one member's database file to give back the space freed by compaction (the member
 * answers nothing else meanwhile: defragment members one at a time).
 *
 * @example
 * for (const m of (await memberList(etcd)).members) await defragment(etcd, { member: m.id });
 */
export async function defragment(client: Client, options: MemberCallOptions = {}): Promise<void> {
  await aimed(coreOf(client), '/maintenance/defragment', {}, options, false);
}

/**
 * Hash of one member's whole backend (to compare members; only equal at equal revisions).
 *
 * @example
 * const { hash: h } = await hash(etcd, { member: 'http://10.0.0.1:2379' });
 */
export async function hash(
  client: Client,
  options: MemberCallOptions = {},
): Promise<{ hash: number; header: ResponseHeader }> {
  const wire = await aimed(coreOf(client), '/maintenance/hash', {}, options, true);
  return { hash: decodeHash(wire.hash), header: decodeHeader(wire.header) };
}

/**
 * Hash of one member's key-value store up to `revision` (default: its latest), the check etcd
 * itself uses to find a corrupt member. Served by etcd 3.5.10 and later (3.4's gateway has no
 * route for it: `UnimplementedError`).
 *
 * @example
 * const a = await hashKV(etcd, { member: endpoints[0] });
 * const b = await hashKV(etcd, { member: endpoints[1], revision: a.hashRevision });
 * if (a.compactRevision === b.compactRevision && a.hash !== b.hash) console.error('members differ');
 */
export async function hashKV(client: Client, options: { revision?: number } & MemberCallOptions = {}): Promise<HashKV> {
  const request = options.revision === undefined ? {} : { revision: String(checkCount(options.revision, 'revision')) };
  const { revision: _, ...aimedOptions } = options;
  const wire = await aimed(coreOf(client), '/maintenance/hashkv', request, aimedOptions, true);
  const header = decodeHeader(wire.header);
  return {
    hash: decodeHash(wire.hash),
    // etcd 3.5 has no hash_revision (3.6 added it): its hash covers the revision asked, or the
    // current one, which its header carries, when none was.
    hashRevision:
      wire.hash_revision === undefined
        ? options.revision || header.revision
        : decodeInt(wire.hash_revision, 'hash_revision'),
    compactRevision: decodeInt(wire.compact_revision, 'compact_revision'),
    header,
  };
}

/**
 * Hands leadership to another voting member, named by member ID or client URL. etcd takes it
 * only from the current leader: sent to the client's current endpoint first, then, if that
 * member is not the leader, to the leader's client URL (from the member list). `{ member }`
 * sends it to that member only.
 *
 * @example
 * const { members } = await memberList(etcd);
 * await moveLeader(etcd, members[1]!.id);
 * await moveLeader(etcd, 'http://10.0.0.3:2379');
 */
export async function moveLeader(client: Client, target: MemberRef, options: MemberCallOptions = {}): Promise<void> {
  const core = coreOf(client);
  const { member, ...callOptions } = options;
  const isUrl = typeof target === 'string' && /^https?:\/\//i.test(target);
  const steps = new Steps(core.transport, callOptions, '/v3/maintenance/transfer-leadership');
  try {
    const targetID = isUrl ? (await resolveMember(core, target, steps.next())).id : memberId(target);
    const send = (endpoint?: string) =>
      core.transport.request('/maintenance/transfer-leadership', { targetID }, { ...steps.next(), endpoint });
    if (member !== undefined) {
      await send(await memberEndpoint(core, member, steps.next()));
      return;
    }
    try {
      await send();
      return;
    } catch (error) {
      if (!(error instanceof FailedPreconditionError && NOT_LEADER.test(error.message))) throw error;
    }
    const { leader } = await status(core, steps.next());
    await send(await memberEndpoint(core, leader, steps.next()));
  } catch (error) {
    throw steps.explain(error);
  }
}

/**
 * Sends a call aimed at `options.member` (or at the current endpoint, failing over when
 * `idempotent`). Resolving a member ID and the call itself share the call's deadline.
 */
async function aimed(
  core: Core,
  route: string,
  body: object,
  options: MemberCallOptions,
  idempotent: boolean,
): Promise<WireObject> {
  const { member, ...callOptions } = options;
  if (member === undefined) return core.transport.request(route, body, { ...callOptions, idempotent });
  const steps = new Steps(core.transport, callOptions, `/v3${route}`);
  try {
    const endpoint = await memberEndpoint(core, member, steps.next());
    return await core.transport.request(route, body, { ...steps.next(), endpoint });
  } catch (error) {
    throw steps.explain(error);
  }
}

function decodeDowngradeInfo(field: unknown): DowngradeInfo {
  if (field === undefined || field === null) return { enabled: false, targetVersion: '' };
  if (typeof field !== 'object')
    throw new MalformedResponseError(`downgradeInfo must be an object, got ${describe(field)}`);
  const wire = field as WireObject;
  return {
    enabled: decodeBool(wire.enabled),
    targetVersion: typeof wire.targetVersion === 'string' ? wire.targetVersion : '',
  };
}

function decodeHash(field: unknown): number {
  if (typeof field !== 'number' && field !== undefined)
    throw new MalformedResponseError(`hash must be a number, got ${describe(field)}`);
  return typeof field === 'number' ? field : 0;
}

function decodeAlarms(wire: WireObject): Alarm[] {
  return decodeArray(wire.alarms, 'alarms').map((field) => {
    const a = (typeof field === 'object' && field !== null ? field : {}) as WireObject;
    const alarm = String(a.alarm ?? 'NONE');
    if (!ALARMS.includes(alarm)) throw new MalformedResponseError(`unknown alarm ${describe(a.alarm)}`);
    return { memberId: decodeId(a.memberID, 'memberID'), alarm: alarm as AlarmType };
  });
}

function checkAlarm(alarm: Alarm): Alarm {
  if (typeof alarm !== 'object' || alarm === null || !ALARMS.includes(alarm.alarm)) {
    throw new InvalidArgumentError(`alarm must be { memberId, alarm: 'NOSPACE' | 'CORRUPT' }, got ${describe(alarm)}`);
  }
  return alarm;
}
