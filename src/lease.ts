import { checkCount, decodeArray, decodeBytes, decodeId, decodeInt, encodeId } from './codec.ts';
import { EtcdError, InvalidArgumentError, LeaseLostError, NotFoundError, PermissionDeniedError, UnauthenticatedError, UnavailableError } from './errors.ts';
import { decodeHeader, type ResponseHeader } from './key-value.ts';
import { Keyspace } from './keyspace.ts';
import { readJsonLines } from './lines.ts';
import { streamResult } from './stream-message.ts';
import { type CallOptions, Deadline, type Transport } from './transport.ts';

/** A lease ID (decimal string, safe integer or bigint) or a lease object. */
export type LeaseRef = string | number | bigint | { readonly id: string };

export interface GrantOptions extends CallOptions {
  /** Ask for this ID instead of letting etcd choose one (etcd refuses an ID in use). */
  id?: string | number | bigint;
  /** Refresh the lease automatically until it is revoked or lost (default true). */
  keepAlive?: boolean;
}

export interface LeaseTimeToLive {
  id: string;
  /** Seconds left; -1 when the lease no longer exists. */
  ttl: number;
  /** The TTL the lease was granted with, in seconds (0 when it no longer exists). */
  grantedTtl: number;
  /** Keys attached to the lease (asked with `keys: true`), as the client sees them. */
  keys: Uint8Array[];
  header: ResponseHeader;
}

/**
 * A granted lease. While kept alive, one loop per client refreshes it (with every other
 * lease of the client, in one request) at about a third of its TTL. `lost` aborts, with a
 * `LeaseLostError` as its reason, as soon as the lease is revoked, etcd says it is gone, or no
 * refresh succeeded for a whole TTL: always before etcd itself can have expired it.
 */
export class Lease implements AsyncDisposable {
  /** The lease ID: a decimal string, since lease IDs use all 64 bits. */
  readonly id: string;
  /** The TTL etcd granted, in seconds. */
  readonly ttl: number;
  /** Aborts when the lease is lost; `lost.reason` is the `LeaseLostError`. */
  readonly lost: AbortSignal;
  readonly #lost = new AbortController();
  readonly #service: LeaseService;

  constructor(service: LeaseService, id: string, ttl: number) {
    this.#service = service;
    this.id = id;
    this.ttl = ttl;
    this.lost = this.#lost.signal;
  }

  /** True once `lost` has fired. */
  get isLost(): boolean {
    return this.lost.aborted;
  }

  /** Seconds left and, with `keys: true`, the keys attached to this lease. */
  timeToLive(options: { keys?: boolean } & CallOptions = {}): Promise<LeaseTimeToLive> {
    return this.#service.timeToLive(this.id, options);
  }

  /** Refreshes the lease once, now; returns the TTL etcd restarted it with. */
  keepAliveOnce(options: CallOptions = {}): Promise<number> {
    return this.#service.keepAliveOnce(this.id, options);
  }

  /** Stops refreshing the lease without revoking it: it expires after its TTL. */
  stopKeepAlive(): void {
    keeperOf(this.#service.transport).remove(this.id);
  }

  /** Revokes the lease (deleting its keys) and stops its keep-alive; `lost` fires. */
  async revoke(options: CallOptions = {}): Promise<void> {
    this.stopKeepAlive();
    try {
      await this.#service.revoke(this.id, options);
    } finally {
      this.markLost(`lease ${this.id} was revoked`);
    }
  }

  /** `await using lease = await etcd.grant(10)`: revokes the lease at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.isLost) return;
    try {
      await this.revoke();
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  /** @internal Fires `lost` (once). */
  markLost(message: string, cause?: unknown): void {
    if (this.lost.aborted) return;
    keeperOf(this.#service.transport).remove(this.id);
    this.#lost.abort(new LeaseLostError(message, this.id, cause === undefined ? {} : { cause }));
  }

  toJSON(): object {
    return { id: this.id, ttl: this.ttl, lost: this.isLost };
  }
}

/** Lease calls: `/v3/lease/grant`, `revoke`, `timetolive`, `leases`, `keepalive`. */
export class LeaseService {
  readonly transport: Transport;
  readonly keyspace: Keyspace;

  constructor(transport: Transport, keyspace: Keyspace = new Keyspace()) {
    this.transport = transport;
    this.keyspace = keyspace;
  }

  /** Grants a lease of `ttl` seconds, kept alive until revoked unless `keepAlive: false`. */
  async grant(ttl: number, options: GrantOptions = {}): Promise<Lease> {
    checkCount(ttl, 'ttl');
    if (ttl < 1) throw new InvalidArgumentError('ttl must be at least 1 second');
    const request: Record<string, string> = { TTL: String(ttl) };
    if (options.id !== undefined) request.ID = encodeId(options.id, 'lease id');
    const sentAt = now();
    const wire = await this.transport.request('/lease/grant', request, options);
    if (typeof wire.error === 'string' && wire.error !== '') throw new EtcdError(wire.error, { path: '/lease/grant' });
    const lease = new Lease(this, decodeId(wire.ID, 'ID'), decodeInt(wire.TTL, 'TTL'));
    if (options.keepAlive !== false) keeperOf(this.transport).add(lease, sentAt);
    return lease;
  }

  /** Revokes a lease: its keys are deleted. A lease that does not exist gives `NotFoundError`. */
  async revoke(lease: LeaseRef, options: CallOptions = {}): Promise<void> {
    const id = leaseId(lease);
    keeperOf(this.transport).lost(id, `lease ${id} was revoked`);
    await this.transport.request('/lease/revoke', { ID: id }, options);
  }

  async timeToLive(lease: LeaseRef, options: { keys?: boolean } & CallOptions = {}): Promise<LeaseTimeToLive> {
    const id = leaseId(lease);
    const wire = await this.transport.request('/lease/timetolive', { ID: id, keys: options.keys === true }, { ...options, idempotent: true });
    const prefix = this.keyspace.prefix;
    return {
      id: decodeId(wire.ID, 'ID'),
      ttl: decodeInt(wire.TTL, 'TTL'),
      grantedTtl: decodeInt(wire.grantedTTL, 'grantedTTL'),
      keys: decodeArray(wire.keys, 'keys')
        .map(decodeBytes)
        .filter((key) => startsWith(key, prefix))
        .map((key) => this.keyspace.strip(key)),
      header: decodeHeader(wire.header),
    };
  }

  /** IDs of every lease etcd holds (all clients'). */
  async list(options: CallOptions = {}): Promise<string[]> {
    const wire = await this.transport.request('/lease/leases', {}, { ...options, idempotent: true });
    return decodeArray(wire.leases, 'leases').map((l) => decodeId((l as { ID?: unknown })?.ID, 'ID'));
  }

  /** Refreshes a lease once; returns its TTL, or throws `LeaseLostError` when it is gone. */
  async keepAliveOnce(lease: LeaseRef, options: CallOptions = {}): Promise<number> {
    const id = leaseId(lease);
    const [ttl] = await keepAlive(this.transport, [id], options);
    if (ttl === undefined || ttl <= 0) throw new LeaseLostError(`lease ${id} does not exist (expired or revoked)`, id);
    return ttl;
  }

  /** The leases this client keeps alive. */
  kept(): Lease[] {
    return keeperOf(this.transport).leases();
  }
}

export function leaseId(lease: LeaseRef): string {
  if (typeof lease === 'object' && lease !== null && 'id' in lease) return encodeId(lease.id, 'lease');
  return encodeId(lease, 'lease');
}

/**
 * Sends one `/v3/lease/keepalive` request refreshing `ids`; answers each ID's TTL in seconds
 * (0: the lease is gone) in the order given. It carries the client's token: since the
 * CVE-2026-33413 fix etcd refuses an anonymous keep-alive while auth is on. A token etcd
 * rejects is renewed once and the request sent again.
 */
async function keepAlive(transport: Transport, ids: readonly string[], options: CallOptions): Promise<number[]> {
  const path = '/lease/keepalive';
  const deadline = new Deadline(options.timeout ?? transport.timeout, options.signal);
  try {
    const body = ids.map((id) => `{"ID":"${id}"}\n`).join('');
    for (let renewedToken = false; ; renewedToken = true) {
      const { response, endpoint, token } = await transport.openStream(path, body, { signal: deadline.signal });
      const ttls = new Map<string, number>();
      try {
        for await (const line of readJsonLines(response.body!)) {
          const result = streamResult(line, endpoint, path);
          ttls.set(decodeId(result.ID, 'ID'), decodeInt(result.TTL, 'TTL'));
          if (ttls.size === ids.length) break;
        }
      } catch (error) {
        if (error instanceof UnauthenticatedError && !renewedToken && transport.tokenSource?.invalidate(token)) continue;
        throw error;
      }
      return ids.map((id) => {
        const ttl = ttls.get(id);
        if (ttl === undefined) throw new EtcdError(`keep-alive answered ${ttls.size} of ${ids.length} leases`, { endpoint, path });
        return ttl;
      });
    }
  } catch (error) {
    throw deadline.explain(error, path);
  } finally {
    deadline.dispose();
  }
}

interface Kept {
  lease: Lease;
  /** When to refresh next (performance.now() ms). */
  dueAt: number;
  /** When etcd may expire it at the earliest: last successful refresh's send time + TTL. */
  expiresAt: number;
  intervalMs: number;
  /** Why the last refresh failed, for `lost`'s reason should the TTL run out. */
  lastError?: unknown;
}

const RETRY_MS = 500;

/** The one keep-alive loop of a transport: refreshes every lease that is due in one request. */
class KeepAliveLoop {
  private readonly transport: Transport;
  private readonly kept = new Map<string, Kept>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = Infinity;
  private inFlight = false;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  add(lease: Lease, grantedAt: number): void {
    const intervalMs = (lease.ttl * 1000) / 3;
    this.kept.set(lease.id, { lease, dueAt: grantedAt + intervalMs, expiresAt: grantedAt + lease.ttl * 1000, intervalMs });
    this.schedule();
  }

  remove(id: string): void {
    if (this.kept.delete(id)) this.schedule();
  }

  lost(id: string, message: string): void {
    this.kept.get(id)?.lease.markLost(message);
  }

  leases(): Lease[] {
    return [...this.kept.values()].map((k) => k.lease);
  }

  private schedule(): void {
    let wakeAt = Infinity;
    for (const k of this.kept.values()) {
      wakeAt = Math.min(wakeAt, k.expiresAt);
      if (!this.inFlight) wakeAt = Math.min(wakeAt, k.dueAt);
    }
    if (wakeAt === this.wakeAt && this.timer !== undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAt = wakeAt;
    if (wakeAt === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wakeAt = Infinity;
      void this.tick();
    }, Math.max(0, wakeAt - now()));
  }

  private async tick(): Promise<void> {
    const start = now();
    for (const k of [...this.kept.values()]) {
      if (k.expiresAt <= start) {
        const why = k.lastError === undefined ? '' : `: ${(k.lastError as Error)?.message ?? String(k.lastError)}`;
        k.lease.markLost(`lease ${k.lease.id} could not be kept alive within its TTL of ${k.lease.ttl} s${why}`, k.lastError);
      }
    }
    if (this.inFlight) return this.schedule();
    // Everything at least half-way to its refresh goes along, so leases share requests.
    const batch = [...this.kept.values()].filter((k) => k.dueAt - k.intervalMs / 2 <= start);
    if (batch.length === 0) return this.schedule();
    this.inFlight = true;
    this.schedule();
    try {
      await this.refresh(batch, start);
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }

  /** Refreshes `batch` in one request; a permission refusal is narrowed down lease by lease. */
  private async refresh(batch: Kept[], start: number): Promise<void> {
    try {
      const timeout = Math.max(1_000, Math.min(this.transport.timeout, Math.min(...batch.map((k) => k.expiresAt)) - start));
      const ttls = await keepAlive(this.transport, batch.map((k) => k.lease.id), { timeout });
      batch.forEach((k, i) => {
        const ttl = ttls[i]!;
        if (ttl <= 0) return k.lease.markLost(`lease ${k.lease.id} expired or was revoked (etcd no longer knows it)`);
        k.expiresAt = start + ttl * 1000;
        k.dueAt = start + (ttl * 1000) / 3;
        k.lastError = undefined;
      });
    } catch (error) {
      if (error instanceof PermissionDeniedError || (error instanceof UnavailableError && !error.retryable)) {
        // etcd ends the whole request at the first lease it refuses: find which ones it is.
        if (batch.length > 1) {
          for (const k of batch) await this.refresh([k], start);
          return;
        }
        // Refused for a permission the user lacks, or a TLS setup etcd refuses: no retry can help
        // (Go's clientv3 halts too).
        const [k] = batch;
        const hint = error instanceof PermissionDeniedError ? " (the user needs put permission on the lease's keys, or the root role)" : '';
        k!.lease.markLost(`lease ${k!.lease.id} cannot be kept alive: ${error.message}${hint}`, error);
        return;
      }
      // Anything else is retried until the lease's TTL has run out; `lost` then fires, saying why.
      const retryAt = now();
      for (const k of batch) {
        k.dueAt = retryAt + Math.min(RETRY_MS, k.intervalMs / 2);
        k.lastError = error;
      }
    }
  }
}

const keepers = new WeakMap<Transport, KeepAliveLoop>();

/** Stops keeping a transport's leases alive (the client is closing): each one's `lost` fires. */
export function stopKeepAlives(transport: Transport, message: string): void {
  for (const lease of keepers.get(transport)?.leases() ?? []) lease.markLost(message);
}

/** One keep-alive loop per transport: a client and its namespaces share it. */
function keeperOf(transport: Transport): KeepAliveLoop {
  let keeper = keepers.get(transport);
  if (keeper === undefined) keepers.set(transport, (keeper = new KeepAliveLoop(transport)));
  return keeper;
}

function now(): number {
  return performance.now();
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
