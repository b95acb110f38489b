import { asRecord, decodeBytes, decodeId, decodeInt, toText } from './codec.ts';

/**
 * A key and its value as etcd stores them: bytes, with UTF-8 views on top.
 *
 * @example
 * ```ts
 * const kv = await etcd.get('config');
 * if (kv) console.log(kv.keyText, kv.valueText, kv.modRevision, kv.json());
 * ```
 */
export class KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Revision of the key's creation (0 for a deleted key seen in a watch). */
  readonly createRevision: number;
  /** Revision of the key's last modification. */
  readonly modRevision: number;
  /** Number of modifications since creation; 0 once deleted. */
  readonly version: number;
  /** Lease ID as a decimal string; "0" for none. */
  readonly lease: string;

  constructor(
    key: Uint8Array,
    value: Uint8Array,
    createRevision: number,
    modRevision: number,
    version: number,
    lease: string,
  ) {
    this.key = key;
    this.value = value;
    this.createRevision = createRevision;
    this.modRevision = modRevision;
    this.version = version;
    this.lease = lease;
  }

  /** The key as UTF-8 text (invalid sequences become U+FFFD). */
  get keyText(): string {
    return toText(this.key);
  }

  /** The value as UTF-8 text (invalid sequences become U+FFFD). */
  get valueText(): string {
    return toText(this.value);
  }

  /** The value parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.valueText) as T;
  }

  /** Text, revisions and lease, for `JSON.stringify` and logs. */
  toJSON(): object {
    return {
      key: this.keyText,
      value: this.valueText,
      createRevision: this.createRevision,
      modRevision: this.modRevision,
      version: this.version,
      lease: this.lease,
    };
  }
}

/**
 * What every answer's header says: the store revision the answer reflects, and who answered.
 *
 * @example
 * ```ts
 * const { header } = await etcd.put('k', 'v');
 * console.log(header.revision, header.memberId);
 * ```
 */
export interface ResponseHeader {
  revision: number;
  clusterId: string;
  memberId: string;
  raftTerm: number;
}

export function decodeKeyValue(wire: unknown): KeyValue {
  const kv = asRecord(wire, 'key-value');
  return new KeyValue(
    decodeBytes(kv.key),
    decodeBytes(kv.value),
    decodeInt(kv.create_revision, 'create_revision'),
    decodeInt(kv.mod_revision, 'mod_revision'),
    decodeInt(kv.version, 'version'),
    decodeId(kv.lease, 'lease'),
  );
}

/**
 * The last header decoded, by its wire object: the reads of one batched txn share their txn's
 * header, decoded once. Kept as values, so no caller's header object is handed to another.
 */
let lastWire: object | undefined;
let lastRevision = 0;
let lastClusterId = '0';
let lastMemberId = '0';
let lastRaftTerm = 0;

export function decodeHeader(wire: unknown): ResponseHeader {
  if (wire === lastWire && wire !== undefined)
    return { revision: lastRevision, clusterId: lastClusterId, memberId: lastMemberId, raftTerm: lastRaftTerm };
  const header = wire === undefined ? {} : asRecord(wire, 'header');
  const revision = decodeInt(header.revision, 'revision');
  const clusterId = decodeId(header.cluster_id, 'cluster_id');
  const memberId = decodeId(header.member_id, 'member_id');
  const raftTerm = decodeInt(header.raft_term, 'raft_term');
  if (wire !== undefined) {
    lastWire = header;
    lastRevision = revision;
    lastClusterId = clusterId;
    lastMemberId = memberId;
    lastRaftTerm = raftTerm;
  }
  return { revision, clusterId, memberId, raftTerm };
}

/** Only the revision of a header (a watch message needs no more). */
export function decodeHeaderRevision(wire: unknown): number {
  return wire === undefined ? 0 : decodeInt(asRecord(wire, 'header').revision, 'revision');
}
