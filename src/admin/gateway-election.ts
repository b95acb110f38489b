import { mapFetchError } from '../core/answer.ts';
import type { CallOptions, WireObject } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import {
  type Bytes,
  decodeBytes,
  decodeId,
  decodeInt,
  describe,
  encodeBase64,
  encodeBytes,
  encodeId,
} from '../core/codec.ts';
import {
  AbortedError,
  EtcdError,
  InvalidArgumentError,
  MalformedResponseError,
  UnavailableError,
} from '../core/errors.ts';
import { decodeHeader, type KeyValue, type ResponseHeader } from '../core/key-value.ts';
import type { Keyspace } from '../core/keyspace.ts';
import { type LeaseRef, leaseId } from '../core/lease-ref.ts';
import { readJsonLines } from '../core/lines.ts';
import { streamResult } from '../core/stream-message.ts';
import { decodeStripped } from '../kv/kv.ts';
import { NO_DEADLINE } from './gateway-lock.ts';

/**
 * Proof of leadership, as etcd's election service hands it out.
 *
 * @example
 * ```ts
 * const leader = await gatewayCampaign(etcd, 'scheduler', 'node-a', { lease });
 * await gatewayProclaim(etcd, leader, 'node-a, v2');
 * ```
 */
export interface GatewayLeaderKey {
  name: Uint8Array;
  /** The key holding the leader's value. */
  key: Uint8Array;
  /** Creation revision of `key`. */
  revision: number;
  lease: string;
}

/**
 * Options of `gatewayCampaign`: the lease behind the candidacy, a deadline and a signal.
 *
 * @example
 * ```ts
 * await gatewayCampaign(etcd, 'scheduler', 'node-a', { lease: await grant(etcd, 15), timeout: 60_000 });
 * ```
 */
export interface GatewayCampaignOptions extends CallOptions {
  /** The lease behind the candidacy: when it ends, leadership ends. */
  lease: LeaseRef;
}

/**
 * Waits in etcd's own election service (`/v3/election/campaign`) until this candidate leads the
 * election `name` (with `value`, held by `options.lease`): a thin call that blocks in etcd until
 * this candidate leads (no deadline unless `timeout` is set).
 *
 * @example
 * ```ts
 * const leader = await gatewayCampaign(etcd, 'scheduler', 'node-a', { lease });
 * console.log((await gatewayLeader(etcd, 'scheduler'))?.valueText); // 'node-a'
 * await gatewayResign(etcd, leader);
 * ```
 */
export async function gatewayCampaign(
  client: Client,
  name: Bytes,
  value: Bytes,
  options: GatewayCampaignOptions,
): Promise<GatewayLeaderKey & { header: ResponseHeader }> {
  const { transport, keyspace } = coreOf(client);
  const request = {
    name: encodeBase64(keyspace.key(name)),
    lease: leaseId(options?.lease),
    value: encodeBytes(value, 'value'),
  };
  const wire = await transport.request('/election/campaign', request, {
    ...options,
    timeout: options.timeout ?? NO_DEADLINE,
  });
  return { ...decodeLeader(keyspace, wire.leader), header: decodeHeader(wire.header) };
}

/**
 * Changes the leader's value without a new election.
 *
 * @example
 * ```ts
 * await gatewayProclaim(etcd, leader, 'node-a, v2');
 * ```
 */
export async function gatewayProclaim(
  client: Client,
  leader: GatewayLeaderKey,
  value: Bytes,
  options: CallOptions = {},
): Promise<void> {
  const { transport, keyspace } = coreOf(client);
  await transport.request(
    '/election/proclaim',
    { leader: encodeLeader(keyspace, leader), value: encodeBytes(value, 'value') },
    options,
  );
}

/**
 * The current leader's key-value, or undefined when nobody leads.
 *
 * @example
 * ```ts
 * const leader = await gatewayLeader(etcd, 'scheduler');
 * ```
 */
export async function gatewayLeader(
  client: Client,
  name: Bytes,
  options: CallOptions = {},
): Promise<KeyValue | undefined> {
  const { transport, keyspace } = coreOf(client);
  try {
    const wire = await transport.request(
      '/election/leader',
      { name: encodeBase64(keyspace.key(name)) },
      { ...options, idempotent: true },
    );
    return wire.kv === undefined ? undefined : decodeStripped(keyspace, wire.kv);
  } catch (error) {
    if (error instanceof EtcdError && /election: no leader/.test(error.message)) return undefined;
    throw error;
  }
}

/**
 * Gives up leadership, so the next candidate can lead.
 *
 * @example
 * ```ts
 * await gatewayResign(etcd, leader);
 * ```
 */
export async function gatewayResign(
  client: Client,
  leader: GatewayLeaderKey,
  options: CallOptions = {},
): Promise<void> {
  const { transport, keyspace } = coreOf(client);
  await transport.request('/election/resign', { leader: encodeLeader(keyspace, leader) }, options);
}

/**
 * The leader's key-value now (once there is one) and after each change, until `signal`
 * aborts (`AbortedError`) or the loop breaks. The stream has no deadline; when it ends
 * otherwise (etcd stopped), the iteration throws `UnavailableError`.
 *
 * @example
 * ```ts
 * for await (const kv of gatewayObserve(etcd, 'scheduler', { signal })) console.log(kv.valueText);
 * ```
 */
export async function* gatewayObserve(
  client: Client,
  name: Bytes,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<KeyValue, void, undefined> {
  const { transport, keyspace } = coreOf(client);
  const route = '/election/observe';
  const path = `/v3${route}`;
  const body = JSON.stringify({ name: encodeBase64(keyspace.key(name)) });
  // etcd sends the response headers with the first leader only: waiting for them is unbounded.
  const { response, endpoint } = await transport.openStream(route, body, {
    signal: options.signal,
    connectTimeout: NO_DEADLINE,
  });
  try {
    for await (const line of readJsonLines(response.body!)) {
      const result = streamResult(line, endpoint, path);
      if (result.kv !== undefined) yield decodeStripped(keyspace, result.kv);
    }
  } catch (error) {
    if (options.signal?.aborted) throw new AbortedError(`${path} was aborted`, { path, cause: options.signal.reason });
    throw mapFetchError(error, endpoint, path, 'the observe stream broke off');
  }
  if (options.signal?.aborted) throw new AbortedError(`${path} was aborted`, { path, cause: options.signal.reason });
  throw new UnavailableError(`the observe stream from ${endpoint} ended`, { endpoint, path });
}

function decodeLeader(keyspace: Keyspace, field: unknown): GatewayLeaderKey {
  if (typeof field !== 'object' || field === null)
    throw new MalformedResponseError(`leader must be an object, got ${describe(field)}`);
  const wire = field as WireObject;
  return {
    name: keyspace.strip(decodeBytes(wire.name)),
    key: keyspace.strip(decodeBytes(wire.key)),
    revision: decodeInt(wire.rev, 'rev'),
    lease: decodeId(wire.lease, 'lease'),
  };
}

function encodeLeader(keyspace: Keyspace, leader: GatewayLeaderKey): WireObject {
  if (
    typeof leader !== 'object' ||
    leader === null ||
    !(leader.key instanceof Uint8Array) ||
    !(leader.name instanceof Uint8Array)
  ) {
    throw new InvalidArgumentError(`leader must be what gatewayCampaign() returned, got ${describe(leader)}`);
  }
  return {
    name: encodeBase64(keyspace.key(leader.name)),
    key: encodeBase64(keyspace.key(leader.key)),
    rev: String(leader.revision),
    lease: encodeId(leader.lease, 'lease'),
  };
}
