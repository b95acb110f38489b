import type { CallOptions, WireObject } from '../core/call-options.ts';
import type { Core } from '../core/client-core.ts';
import { decodeArray, decodeBool, decodeId, describe, encodeId } from '../core/codec.ts';
import { InvalidArgumentError, MalformedResponseError } from '../core/errors.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';
import type { Transport } from '../core/transport.ts';

/**
 * A member of the etcd cluster.
 *
 * @example
 * ```ts
 * const { members } = await etcd.cluster.members();
 * for (const m of members) console.log(m.name, m.clientUrls, m.isLearner);
 * ```
 */
export interface Member {
  /** Member ID: a decimal string (IDs use all 64 bits). */
  id: string;
  /** Empty until the member has started and published itself. */
  name: string;
  peerUrls: string[];
  /** Empty until the member has started. */
  clientUrls: string[];
  isLearner: boolean;
}

/**
 * The cluster's members, as one member answered.
 *
 * @example
 * ```ts
 * const { members, header } = await etcd.cluster.members();
 * ```
 */
export interface MemberList {
  members: Member[];
  header: ResponseHeader;
}

/**
 * Cluster membership: `/v3/cluster/member/*`.
 *
 * @example
 * ```ts
 * const { member } = await etcd.cluster.addMember(['http://10.0.0.4:2380'], { isLearner: true });
 * await etcd.cluster.promoteMember(member.id);
 * ```
 */
export class Cluster {
  private readonly transport: Transport;

  constructor(core: Core) {
    this.transport = core.transport;
  }

  /** Every member of the cluster, learners included. */
  async members(options: CallOptions = {}): Promise<MemberList> {
    return decodeMemberList(await this.transport.request('/cluster/member/list', {}, { ...options, idempotent: true }));
  }

  /** Adds a member by its peer URLs (start it afterwards with `--initial-cluster-state existing`). */
  async addMember(
    peerUrls: readonly string[],
    options: { isLearner?: boolean } & CallOptions = {},
  ): Promise<MemberList & { member: Member }> {
    const wire = await this.transport.request(
      '/cluster/member/add',
      { peerURLs: urls(peerUrls), isLearner: options.isLearner === true },
      options,
    );
    return { member: decodeMember(wire.member), ...decodeMemberList(wire) };
  }

  /** Removes a member by its ID (a decimal string). */
  async removeMember(id: string | bigint, options: CallOptions = {}): Promise<MemberList> {
    return decodeMemberList(
      await this.transport.request('/cluster/member/remove', { ID: encodeId(id, 'member id') }, options),
    );
  }

  /** Changes a member's peer URLs. */
  async updateMember(id: string | bigint, peerUrls: readonly string[], options: CallOptions = {}): Promise<MemberList> {
    const request = { ID: encodeId(id, 'member id'), peerURLs: urls(peerUrls) };
    return decodeMemberList(await this.transport.request('/cluster/member/update', request, options));
  }

  /** Makes a learner a voting member (etcd refuses until the learner has caught up). */
  async promoteMember(id: string | bigint, options: CallOptions = {}): Promise<MemberList> {
    return decodeMemberList(
      await this.transport.request('/cluster/member/promote', { ID: encodeId(id, 'member id') }, options),
    );
  }
}

function decodeMemberList(wire: WireObject): MemberList {
  return { members: decodeArray(wire.members, 'members').map(decodeMember), header: decodeHeader(wire.header) };
}

function decodeMember(field: unknown): Member {
  if (typeof field !== 'object' || field === null)
    throw new MalformedResponseError(`member must be an object, got ${describe(field)}`);
  const wire = field as WireObject;
  return {
    id: decodeId(wire.ID, 'member ID'),
    name: typeof wire.name === 'string' ? wire.name : '',
    peerUrls: decodeArray(wire.peerURLs, 'peerURLs').map(String),
    clientUrls: decodeArray(wire.clientURLs, 'clientURLs').map(String),
    isLearner: decodeBool(wire.isLearner),
  };
}

function urls(value: readonly string[]): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((u) => typeof u === 'string' && /^https?:\/\/[^/]+/i.test(u))
  ) {
    throw new InvalidArgumentError(`peer URLs must be a non-empty array of http(s) URLs, got ${describe(value)}`);
  }
  return [...value];
}
