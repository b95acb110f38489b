import { mapFetchError } from '../core/answer.ts';
import type { CallOptions, WireObject } from '../core/call-options.ts';
import type { Core } from '../core/client-core.ts';
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
import type { Transport } from '../core/transport.ts';
import { decodeStripped } from '../kv/kv.ts';
import { NO_DEADLINE } from './gateway-lock.ts';

/**
 * Proof of leadership, as etcd's election service hands it out.
 *
 * @example
 * ```ts
 * const leader = await etcd.electionService.campaign('scheduler', 'node-a', { lease });
 * await etcd.electionService.proclaim(leader, 'node-a, v2');
 * ```
 */
export interface LeaderKey {
  name: Uint8Array;
  /** The key holding the leader's value. */
  key: Uint8Array;
  /** Creation revision of `key`. */
  revision: number;
  lease: string;
}

/**
 * Options of `etcd.electionService.campaign`: the lease behind the candidacy, a deadline and a signal.
 *
 * @example
 * ```ts
 * await etcd.electionService.campaign('scheduler', 'node-a', { lease: await etcd.grant(15), timeout: 60_000 });
 * ```
 */
export interface CampaignOptions extends CallOptions {
  /** The lease behind the candidacy: when it ends, leadership ends. */
  lease: LeaseRef;
}

/**
 * etcd's own election service, `/v3/election/*`: thin calls. `campaign` blocks in etcd until
 * this candidate leads (no deadline unless `timeout` is set).
 *
 * @example
 * ```ts
 * const leader = await etcd.electionService.campaign('scheduler', 'node-a', { lease });
 * console.log((await etcd.electionService.leader('scheduler'))?.valueText); // 'node-a'
 * await etcd.electionService.resign(leader);
 * ```
 */
export class GatewayElection {
  private readonly transport: Transport;
  private readonly keyspace: Keyspace;

  constructor(core: Core) {
    this.transport = core.transport;
    this.keyspace = core.keyspace;
  }

  /** Waits in etcd until this candidate leads the election `name` (with `value`, held by `options.lease`). */
  async campaign(name: Bytes, value: Bytes, options: CampaignOptions): Promise<LeaderKey & { header: ResponseHeader }> {
    const request = {
      name: encodeBase64(this.keyspace.key(name)),
      lease: leaseId(options?.lease),
      value: encodeBytes(value, 'value'),
    };
    const wire = await this.transport.request('/election/campaign', request, {
      ...options,
      timeout: options.timeout ?? NO_DEADLINE,
    });
    return { ...this.decodeLeader(wire.leader), header: decodeHeader(wire.header) };
  }

  /** Changes the leader's value without a new election. */
  async proclaim(leader: LeaderKey, value: Bytes, options: CallOptions = {}): Promise<void> {
    await this.transport.request(
      '/election/proclaim',
      { leader: this.encodeLeader(leader), value: encodeBytes(value, 'value') },
      options,
    );
  }

  /** The current leader's key-value, or undefined when nobody leads. */
  async leader(name: Bytes, options: CallOptions = {}): Promise<KeyValue | undefined> {
    try {
      const wire = await this.transport.request(
        '/election/leader',
        { name: encodeBase64(this.keyspace.key(name)) },
        { ...options, idempotent: true },
      );
      return wire.kv === undefined ? undefined : decodeStripped(this.keyspace, wire.kv);
    } catch (error) {
      if (error instanceof EtcdError && /election: no leader/.test(error.message)) return undefined;
      throw error;
    }
  }

  /** Gives up leadership, so the next candidate can lead. */
  async resign(leader: LeaderKey, options: CallOptions = {}): Promise<void> {
    await this.transport.request('/election/resign', { leader: this.encodeLeader(leader) }, options);
  }

  /**
   * The leader's key-value now (once there is one) and after each change, until `signal`
   * aborts (`AbortedError`) or the loop breaks. The stream has no deadline; when it ends
   * otherwise (etcd stopped), the iteration throws `UnavailableError`.
   */
  async *observe(name: Bytes, options: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue, void, undefined> {
    const route = '/election/observe';
    const path = `/v3${route}`;
    const body = JSON.stringify({ name: encodeBase64(this.keyspace.key(name)) });
    // etcd sends the response headers with the first leader only: waiting for them is unbounded.
    const { response, endpoint } = await this.transport.openStream(route, body, {
      signal: options.signal,
      connectTimeout: NO_DEADLINE,
    });
    try {
      for await (const line of readJsonLines(response.body!)) {
        const result = streamResult(line, endpoint, path);
        if (result.kv !== undefined) yield decodeStripped(this.keyspace, result.kv);
      }
    } catch (error) {
      if (options.signal?.aborted)
        throw new AbortedError(`${path} was aborted`, { path, cause: options.signal.reason });
      throw mapFetchError(error, endpoint, path, 'the observe stream broke off');
    }
    if (options.signal?.aborted) throw new AbortedError(`${path} was aborted`, { path, cause: options.signal.reason });
    throw new UnavailableError(`the observe stream from ${endpoint} ended`, { endpoint, path });
  }

  private decodeLeader(field: unknown): LeaderKey {
    if (typeof field !== 'object' || field === null)
      throw new MalformedResponseError(`leader must be an object, got ${describe(field)}`);
    const wire = field as WireObject;
    return {
      name: this.keyspace.strip(decodeBytes(wire.name)),
      key: this.keyspace.strip(decodeBytes(wire.key)),
      revision: decodeInt(wire.rev, 'rev'),
      lease: decodeId(wire.lease, 'lease'),
    };
  }

  private encodeLeader(leader: LeaderKey): WireObject {
    if (
      typeof leader !== 'object' ||
      leader === null ||
      !(leader.key instanceof Uint8Array) ||
      !(leader.name instanceof Uint8Array)
    ) {
      throw new InvalidArgumentError(`leader must be what campaign() returned, got ${describe(leader)}`);
    }
    return {
      name: encodeBase64(this.keyspace.key(leader.name)),
      key: encodeBase64(this.keyspace.key(leader.key)),
      rev: String(leader.revision),
      lease: encodeId(leader.lease, 'lease'),
    };
  }
}
