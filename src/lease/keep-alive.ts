import { type Core, perClient } from '../core/client-core.ts';
import type { CallOptions } from '../core/call-options.ts';
import { decodeId, decodeInt } from '../core/codec.ts';
import { MalformedResponseError, PermissionDeniedError, UnauthenticatedError, UnavailableError } from '../core/errors.ts';
import { readJsonLines } from '../core/lines.ts';
import { streamResult } from '../core/stream-message.ts';
import { Deadline } from '../core/deadline.ts';
import type { Transport } from '../core/transport.ts';
import { setTimer } from '../core/timers.ts';

/**
 * Sends one `/v3/lease/keepalive` request refreshing `ids`; answers each ID's TTL in seconds
 * (0: the lease is gone) in the order given. It carries the client's token: since the
 * CVE-2026-33413 fix etcd refuses an anonymous keep-alive while auth is on. A token etcd
 * rejects is renewed once and the request sent again.
 */
export async function keepAlive(transport: Transport, ids: readonly string[], options: CallOptions): Promise<number[]> {
  const route = '/lease/keepalive';
  const path = `/v3${route}`;
  const deadline = new Deadline(options.timeout ?? transport.timeout, options.signal);
  try {
    const body = ids.map((id) => `{"ID":"${id}"}\n`).join('');
    for (let renewedToken = false; ; renewedToken = true) {
      const { response, endpoint, token } = await transport.openStream(route, body, { signal: deadline.signal });
      const wanted = new Set(ids);
      const ttls = new Map<string, number>();
      const others: string[] = [];
      try {
        for await (const line of readJsonLines(response.body!)) {
          const result = streamResult(line, endpoint, path);
          const id = decodeId(result.ID, 'ID');
          // An answer for a lease not asked about is no answer for ours: note it, read on.
          if (wanted.has(id)) ttls.set(id, decodeInt(result.TTL, 'TTL'));
          else others.push(id);
          if (ttls.size === wanted.size) break;
        }
      } catch (error) {
        if (error instanceof UnauthenticatedError && !renewedToken && transport.tokenSource?.invalidate(token)) continue;
        throw error;
      }
      const missing = ids.filter((id) => !ttls.has(id));
      if (missing.length > 0) {
        const extra = others.length > 0 ? `; it answered for lease ${others.join(', ')}, not asked about` : '';
        throw new MalformedResponseError(`keep-alive got no answer for lease ${missing.join(', ')}${extra}`, { endpoint, path });
      }
      return ids.map((id) => ttls.get(id)!);
    }
  } catch (error) {
    throw deadline.explain(error, path);
  } finally {
    deadline.dispose();
  }
}

/** What the loop needs of a lease. */
export interface KeptLease {
  readonly id: string;
  readonly ttl: number;
  markLost(message: string, cause?: unknown): void;
}

interface Kept {
  lease: KeptLease;
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
export class KeepAliveLoop {
  private readonly transport: Transport;
  private readonly kept = new Map<string, Kept>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = Infinity;
  private inFlight = false;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  add(lease: KeptLease, grantedAt: number): void {
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

  leases(): KeptLease[] {
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
    this.timer = setTimer(() => {
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

/**
 * The one keep-alive loop of a client (its namespaces share it). When the client closes, every
 * lease it keeps is lost: etcd expires them after their TTL.
 */
export function keeperOf(core: Core): KeepAliveLoop {
  return perClient(keepers, core, () => new KeepAliveLoop(core.transport), (loop) => {
    for (const lease of loop.leases()) lease.markLost('the client was closed: the lease is no longer kept alive');
  });
}

export function now(): number {
  return performance.now();
}
