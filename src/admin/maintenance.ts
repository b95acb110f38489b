import { decodeArray, decodeBool, decodeId, decodeInt, describe, encodeId } from '../core/codec.ts';
import { InvalidArgumentError, MalformedResponseError } from '../core/errors.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';
import type { CallOptions, WireObject } from '../core/call-options.ts';
import type { Transport } from '../core/transport.ts';
import type { Core } from '../core/client-core.ts';

/**
 * The alarms etcd raises: out of space, or a corrupt member.
 *
 * @example
 * ```ts
 * const full = (await etcd.maintenance.alarms()).some((a) => a.alarm === 'NOSPACE');
 * ```
 */
export type AlarmType = 'NOSPACE' | 'CORRUPT';

/**
 * An alarm raised by a member.
 *
 * @example
 * ```ts
 * for (const { memberId, alarm } of await etcd.maintenance.alarms()) console.log(memberId, alarm);
 * ```
 */
export interface Alarm {
  /** The member that raised it (a decimal string). */
  memberId: string;
  alarm: AlarmType;
}

/**
 * What the member behind the current endpoint says about itself.
 *
 * @example
 * ```ts
 * const { version, dbSize, leader } = await etcd.maintenance.status();
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
  header: ResponseHeader;
}

const ALARMS: readonly string[] = ['NOSPACE', 'CORRUPT'];

/**
 * Maintenance: `/v3/maintenance/*`. Each call goes to the client's current endpoint, so with
 * several endpoints `status`, `hash` and `defragment` concern that one member.
 * etcd 3.4's gateway does not serve HashKV, so there is no `hashKV` here.
 *
 * @example
 * ```ts
 * const status = await etcd.maintenance.status();
 * if (status.dbSize > 2 * status.dbSizeInUse) await etcd.maintenance.defragment();
 * ```
 */
export class Maintenance {
  private readonly transport: Transport;

  constructor(core: Core) {
    this.transport = core.transport;
  }

  /** What the member behind the current endpoint says about itself: version, database size, leader, raft indexes. */
  async status(options: CallOptions = {}): Promise<MemberStatus> {
    const wire = await this.transport.request('/maintenance/status', {}, { ...options, idempotent: true });
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
      header: decodeHeader(wire.header),
    };
  }

  /** Alarms raised anywhere in the cluster. */
  async alarms(options: CallOptions = {}): Promise<Alarm[]> {
    return decodeAlarms(await this.transport.request('/maintenance/alarm', { action: 'GET', memberID: '0', alarm: 'NONE' }, { ...options, idempotent: true }));
  }

  /**
   * Clears one alarm, or every alarm raised (when none is named). Free the space first
   * (compact, defragment) or a NOSPACE alarm comes back on the next write. Returns the
   * alarms cleared.
   */
  async disarm(alarm?: Alarm, options: CallOptions = {}): Promise<Alarm[]> {
    const targets = alarm === undefined ? await this.alarms(options) : [checkAlarm(alarm)];
    const cleared: Alarm[] = [];
    for (const a of targets) {
      const wire = await this.transport.request('/maintenance/alarm', { action: 'DEACTIVATE', memberID: encodeId(a.memberId, 'memberId'), alarm: a.alarm }, options);
      cleared.push(...decodeAlarms(wire));
    }
    return cleared;
  }

  /** Rewrites the member's database file to give back the space freed by compaction. */
  async defragment(options: CallOptions = {}): Promise<void> {
    await this.transport.request('/maintenance/defragment', {}, options);
  }

  /** Hash of the member's whole backend (to compare members; only equal at equal revisions). */
  async hash(options: CallOptions = {}): Promise<{ hash: number; header: ResponseHeader }> {
    const wire = await this.transport.request('/maintenance/hash', {}, { ...options, idempotent: true });
    if (typeof wire.hash !== 'number' && wire.hash !== undefined) throw new MalformedResponseError(`hash must be a number, got ${describe(wire.hash)}`);
    return { hash: typeof wire.hash === 'number' ? wire.hash : 0, header: decodeHeader(wire.header) };
  }

  /** Hands leadership to another voting member; must be sent to the current leader. */
  async moveLeader(targetId: string | bigint, options: CallOptions = {}): Promise<void> {
    await this.transport.request('/maintenance/transfer-leadership', { targetID: encodeId(targetId, 'target member id') }, options);
  }
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
