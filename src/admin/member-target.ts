// Aiming a call at one member: by its client URL, or by its member ID resolved through the
// member list's client URLs. The transport then sends to that endpoint alone (no failover).

import type { CallOptions, WireObject } from '../core/call-options.ts';
import { checkEndpoint } from '../core/check-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { decodeArray, decodeId, describe } from '../core/codec.ts';
import { InvalidArgumentError, NotFoundError } from '../core/errors.ts';
import { Steps } from './steps.ts';

/**
 * One member: its client URL (`'http://10.0.0.1:2379'`), or its member ID (a decimal string,
 * as `Member.id` and `MemberStatus.leader` give it, or a bigint).
 *
 * @example
 * await status(etcd, { member: 'http://10.0.0.2:2379' });
 * await status(etcd, { member: '10276657743932975437' });
 */
export type MemberRef = string | bigint;

/**
 * Options of a call aimed at one member.
 *
 * @example
 * await defragment(etcd, { member: '10276657743932975437', timeout: 60_000 });
 */
export interface MemberCallOptions extends CallOptions {
  /**
   * The member to ask (default: the client's current endpoint). The call goes to that member
   * only, once: no other endpoint is tried when it fails.
   */
  member?: MemberRef;
}

/**
 * A member's ID and the client URL a call to it goes to.
 *
 * @example
 * const { id, endpoint }: MemberTarget = await resolveMember(etcd, 'http://10.0.0.1:2379');
 */
export interface MemberTarget {
  /** Member ID (a decimal string). */
  id: string;
  /** Its first client URL. */
  endpoint: string;
}

/**
 * The client URL to send a call for `member` to: an URL as given, an ID through the member list.
 *
 * @example
 * const endpoint = await memberEndpoint(etcd, '10276657743932975437');
 * await etcd.transport.request('/maintenance/status', {}, { endpoint });
 */
export async function memberEndpoint(client: Client, member: MemberRef, options: CallOptions = {}): Promise<string> {
  if (typeof member === 'string' && isUrl(member)) return normalize(member);
  return (await resolveMember(client, member, options)).endpoint;
}

/**
 * The ID and client URL of `member`, given either: a member ID is looked up in the member list;
 * a URL is matched against the members' client URLs, or else asked for its own ID.
 *
 * @example
 * const { id, endpoint } = await resolveMember(etcd, 'http://127.0.0.1:2379');
 */
export async function resolveMember(
  client: Client,
  member: MemberRef,
  options: CallOptions = {},
): Promise<MemberTarget> {
  const core = coreOf(client);
  const { signal, timeout } = options;
  const url = typeof member === 'string' && isUrl(member);
  // Checked before anything is sent.
  const id = url ? '' : memberId(member);
  const endpoint = url ? normalize(member) : '';
  // The member list, then maybe the member itself: both within the one deadline.
  const steps = new Steps(core.transport, { signal, timeout }, 'resolving a member');
  try {
    const members = await listMembers(core, steps.next());
    if (url) {
      const listed = members.find((m) => m.clientUrls.includes(endpoint));
      if (listed !== undefined) return { id: listed.id, endpoint };
      // A URL the member does not advertise (a proxy, a load balancer in front of one member).
      const status = await core.transport.request('/maintenance/status', {}, { ...steps.next(), endpoint });
      const header = (status.header ?? {}) as WireObject;
      return { id: decodeId(header.member_id, 'member_id'), endpoint };
    }
    return byId(members, id);
  } catch (error) {
    throw steps.explain(error);
  }
}

function byId(members: { id: string; clientUrls: string[] }[], id: string): MemberTarget {
  const listed = members.find((m) => m.id === id);
  if (listed === undefined)
    throw new NotFoundError(`no member with ID ${id} in the member list`, { path: '/v3/cluster/member/list' });
  const first = listed.clientUrls[0];
  if (first === undefined)
    throw new NotFoundError(`member ${id} has no client URL yet (it has not started)`, {
      path: '/v3/cluster/member/list',
    });
  return { id, endpoint: first };
}

/** A member ID as a decimal string, checked. */
export function memberId(member: MemberRef): string {
  if (
    typeof member === 'bigint'
      ? member > 0n && member < 2n ** 64n
      : typeof member === 'string' && /^[1-9]\d{0,19}$/.test(member) && BigInt(member) < 2n ** 64n
  ) {
    return String(member);
  }
  throw new InvalidArgumentError(
    `a member must be a client URL such as "http://127.0.0.1:2379" or a member ID (a decimal string or bigint), got ${describe(member)}`,
  );
}

/** The members' IDs and client URLs (normalized), as `/v3/cluster/member/list` gives them. */
export async function listMembers(
  client: Client,
  options: CallOptions = {},
): Promise<{ id: string; name: string; clientUrls: string[] }[]> {
  const wire = await coreOf(client).transport.request(
    '/cluster/member/list',
    {},
    { signal: options.signal, timeout: options.timeout, idempotent: true },
  );
  return decodeArray(wire.members, 'members').map((field) => {
    const m = (typeof field === 'object' && field !== null ? field : {}) as WireObject;
    return {
      id: decodeId(m.ID, 'member ID'),
      name: typeof m.name === 'string' ? m.name : '',
      clientUrls: decodeArray(m.clientURLs, 'clientURLs').map((u) => String(u).replace(/\/+$/, '')),
    };
  });
}

function isUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

function normalize(endpoint: string): string {
  checkEndpoint(endpoint);
  return endpoint.replace(/\/+$/, '');
}
