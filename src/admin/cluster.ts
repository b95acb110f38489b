import type { CallOptions, WireObject } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { decodeArray, decodeBool, decodeId, describe, encodeId } from '../core/codec.ts';
import { InvalidArgumentError, MalformedResponseError } from '../core/errors.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';

/**
 * A member of the etcd cluster.
 *
 * @example
 * ```ts
 * const { members } = await memberList(etcd);
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
 * const { members, header } = await memberList(etcd);
 * ```
 */
export interface MemberList {
  members: Member[];
  header: ResponseHeader;
}

/**
 * Every member of the cluster, learners included: `/v3/cluster/member/list`.
 *
 * @example
 * ```ts
 * const { members } = await memberList(etcd);
 * ```
 */
export async function memberList(client: Client, options: CallOptions = {}): Promise<MemberList> {
  return decodeMemberList(
    await coreOf(client).transport.request('/cluster/member/list', {}, { ...options, idempotent: true }),
  );
}

/**
 * Adds a member by its peer URLs (start it afterwards with `--initial-cluster-state existing`).
 *
 * @example
 * ```ts
 * const { member } = await memberAdd(etcd, ['http://10.0.0.4:2380'], { isLearner: true });
 * await memberPromote(etcd, member.id);
 * ```
 */
export async function memberAdd(
  client: Client,
  peerUrls: readonly string[],
  options: { isLearner?: boolean } & CallOptions = {},
): Promise<MemberList & { member: Member }> {
  const wire = await coreOf(client).transport.request(
    '/cluster/member/add',
    { peerURLs: urls(peerUrls), isLearner: options.isLearner === true },
    options,
  );
  return { member: decodeMember(wire.member), ...decodeMemberList(wire) };
}

/**
 * Removes a member by its ID (a decimal string).
 *
 * @example
 * ```ts
 * await memberRemove(etcd, member.id);
 * ```
 */
export async function memberRemove(
  client: Client,
  id: string | bigint,
  options: CallOptions = {},
): Promise<MemberList> {
  return decodeMemberList(
    await coreOf(client).transport.request('/cluster/member/remove', { ID: encodeId(id, 'member id') }, options),
  );
}

/**
 * Changes a member's peer URLs.
 *
 * @example
 * ```ts
 * await memberUpdate(etcd, member.id, ['http://10.0.0.5:2380']);
 * ```
 */
export async function memberUpdate(
  client: Client,
  id: string | bigint,
  peerUrls: readonly string[],
  options: CallOptions = {},
): Promise<MemberList> {
  const request = { ID: encodeId(id, 'member id'), peerURLs: urls(peerUrls) };
  return decodeMemberList(await coreOf(client).transport.request('/cluster/member/update', request, options));
}

/**
 * Makes a learner a voting member (etcd refuses until the learner has caught up).
 *
 * @example
 * ```ts
 * await memberPromote(etcd, learner.id);
 * ```
 */
export async function memberPromote(
  client: Client,
  id: string | bigint,
  options: CallOptions = {},
): Promise<MemberList> {
  return decodeMemberList(
    await coreOf(client).transport.request('/cluster/member/promote', { ID: encodeId(id, 'member id') }, options),
  );
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
