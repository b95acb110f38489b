import { type Core, perClient } from '../core/client-core.ts';
import { MalformedResponseError, PermissionDeniedError, UnavailableError } from '../core/errors.ts';
import { setTimer } from '../core/timers.ts';
import type { Transport } from '../core/transport.ts';
import { keepAliveRequest } from './keep-alive.ts';
import { batchesOf } from './keep-alive-body.ts';

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
  /** Queued or in a request now. */
  sending: boolean;
  /** Why the last refresh failed, for `lost`'s reason should the TTL run out. */
  lastError?: unknown;
}

/** Wait before asking again after a request that brought no answer at all. */
const RETRY_MS = 500;
/**
 * Keep-alive requests in flight at once: enough for 10,000 leases (24 requests of 423) well within
 * a third of a 5 s TTL, and few enough to leave a browser's six connections per origin to the rest.
 */
const CONCURRENCY = 4;

/**
 * The one keep-alive loop of a transport. When a lease falls due, every lease at least half-way
 * to its refresh goes along (so leases share requests), the most urgent first, split into
 * requests the gateway answers in full (keep-alive-body.ts), CONCURRENCY of them in flight; leases
 * that fall due meanwhile join the queue without waiting for the others to finish. Every answer
 * received is applied, even from an answer that ends early or breaks off; the leases it left out
 * are asked for again at once while requests bring answers, else after RETRY_MS. A lease is lost
 * only when etcd says it is gone (no TTL) or no refresh succeeded for a whole TTL.
 */
export class KeepAliveLoop {
  private readonly transport: Transport;
  private readonly kept = new Map<string, Kept>();
  /** Aborts the requests in flight when the client closes. */
  private readonly closing = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = Infinity;
  /** Batches waiting for a request, the most urgent first; re-asks go at the end. */
  private readonly queue: Kept[][] = [];
  private workers = 0;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  add(lease: KeptLease, grantedAt: number): void {
    const intervalMs = (lease.ttl * 1000) / 3;
    // A new lease joins the next refresh already planned, once early, and then keeps pace with
    // the others: leases granted one after another would otherwise each set their own time, and
    // every one of those times would take the others along half-way to their refresh.
    const dueAt = Math.min(grantedAt + intervalMs, Math.max(this.wakeAt, now()));
    const kept: Kept = { lease, dueAt, expiresAt: grantedAt + lease.ttl * 1000, intervalMs, sending: false };
    this.kept.set(lease.id, kept);
    // One lease more needs no scan of the others: wake earlier only if it is due first.
    this.wakeBy(Math.min(kept.dueAt, kept.expiresAt));
  }

  remove(id: string): void {
    // A timer set for a removed lease only wakes the loop for nothing; none is left without leases.
    if (this.kept.delete(id) && this.kept.size === 0) this.stopTimer();
  }

  lost(id: string, message: string): void {
    this.kept.get(id)?.lease.markLost(message);
  }

  leases(): KeptLease[] {
    return [...this.kept.values()].map((k) => k.lease);
  }

  /** The client closed: no more requests, those in flight are aborted. */
  close(): void {
    this.stopTimer();
    this.queue.length = 0;
    this.closing.abort(new DOMException('the client was closed', 'AbortError'));
  }

  private schedule(): void {
    let wakeAt = Infinity;
    for (const k of this.kept.values()) {
      wakeAt = Math.min(wakeAt, k.sending ? k.expiresAt : Math.min(k.dueAt, k.expiresAt));
    }
    if (wakeAt === this.wakeAt && this.timer !== undefined) return;
    this.stopTimer();
    this.wakeBy(wakeAt);
  }

  /** Makes sure the loop wakes at `at` at the latest. */
  private wakeBy(at: number): void {
    if (this.closing.signal.aborted || at >= this.wakeAt) return;
    clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimer(
      () => {
        this.timer = undefined;
        this.wakeAt = Infinity;
        this.tick();
      },
      Math.max(0, at - now()),
    );
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAt = Infinity;
  }

  private tick(): void {
    const start = now();
    const due: Kept[] = [];
    for (const k of [...this.kept.values()]) {
      if (k.expiresAt <= start) {
        const why = k.lastError === undefined ? '' : `: ${(k.lastError as Error)?.message ?? String(k.lastError)}`;
        k.lease.markLost(
          `lease ${k.lease.id} could not be kept alive within its TTL of ${k.lease.ttl} s${why}`,
          k.lastError,
        );
      } else if (!k.sending && k.dueAt - k.intervalMs / 2 <= start) {
        due.push(k);
      }
    }
    if (due.length > 0) {
      due.sort((a, b) => a.expiresAt - b.expiresAt);
      for (const k of due) k.sending = true;
      this.queue.push(...batchesOf(due, (k) => k.lease.id));
      while (this.workers < CONCURRENCY && this.queue.length > 0) void this.work();
    }
    this.schedule();
  }

  /** Sends the queued batches, one request at a time, until none is left. */
  private async work(): Promise<void> {
    this.workers++;
    try {
      for (let batch = this.queue.shift(); batch !== undefined; batch = this.queue.shift()) {
        if (this.closing.signal.aborted) return;
        try {
          await this.refresh(batch);
        } catch (error) {
          // Not expected (a `lost` listener that throws?): the batch waits for the next tick.
          for (const k of batch) [k.sending, k.lastError] = [false, error];
        }
        this.schedule();
      }
    } finally {
      this.workers--;
    }
  }

  /**
   * Refreshes `batch` in one request and applies every answer it brought; what it left out goes
   * back in the queue at once when the request made progress (a permission refusal, lease by lease).
   */
  private async refresh(queued: Kept[]): Promise<void> {
    // Revoked, stopped or lost since it was queued: not asked for.
    const batch = queued.filter((k) => this.kept.get(k.lease.id) === k);
    if (batch.length === 0) return;
    const start = now();
    let earliest = Infinity;
    for (const k of batch) earliest = Math.min(earliest, k.expiresAt);
    const timeout = Math.max(1_000, Math.min(this.transport.timeout, earliest - start));
    const { ttls, error, sentAt } = await keepAliveRequest(
      this.transport,
      batch.map((k) => k.lease.id),
      { timeout, signal: this.closing.signal },
    );
    const missing: Kept[] = [];
    for (const k of batch) {
      k.sending = false;
      // Revoked, stopped or lost meanwhile: nothing to do.
      if (this.kept.get(k.lease.id) !== k) continue;
      const ttl = ttls.get(k.lease.id);
      if (ttl === undefined) {
        missing.push(k);
      } else if (ttl <= 0) {
        k.lease.markLost(`lease ${k.lease.id} expired or was revoked (etcd no longer knows it)`);
      } else {
        k.intervalMs = (ttl * 1000) / 3;
        k.expiresAt = sentAt + ttl * 1000;
        k.dueAt = sentAt + k.intervalMs;
        k.lastError = undefined;
      }
    }
    if (missing.length === 0 || this.closing.signal.aborted) return;
    const why =
      error ??
      new MalformedResponseError(`keep-alive got no answer for lease ${missing.map((k) => k.lease.id).join(', ')}`, {
        path: '/v3/lease/keepalive',
      });
    for (const k of missing) k.lastError = why;
    if (error instanceof PermissionDeniedError || (error instanceof UnavailableError && !error.retryable)) {
      // etcd ends the whole request at the first lease it refuses: find which ones it is.
      if (missing.length > 1) {
        for (const k of missing) this.requeue([k]);
        return;
      }
      // Refused for a permission the user lacks, or a TLS setup etcd refuses: no retry can help
      // (Go's clientv3 halts too).
      const [k] = missing;
      const hint =
        error instanceof PermissionDeniedError
          ? " (the user needs put permission on the lease's keys, or the root role)"
          : '';
      k!.lease.markLost(`lease ${k!.lease.id} cannot be kept alive: ${error.message}${hint}`, error);
      return;
    }
    if (ttls.size > 0) {
      // The answer was cut short (etcd 3.4's gateway does that): ask for the rest at once, first,
      // since its leases were the most urgent when queued.
      for (const k of missing) k.sending = true;
      this.queue.unshift(missing);
      return;
    }
    // No answer at all: try again soon; `lost` fires, saying why, if the TTL runs out first.
    const retryAt = now();
    for (const k of missing) k.dueAt = retryAt + Math.min(RETRY_MS, k.intervalMs / 2);
  }

  private requeue(batch: Kept[]): void {
    for (const k of batch) k.sending = true;
    this.queue.push(batch);
  }
}

const keepers = /* @__PURE__ */ new WeakMap<Transport, KeepAliveLoop>();

/**
 * The one keep-alive loop of a client (its namespaces share it). When the client closes, every
 * lease it keeps is lost: etcd expires them after their TTL.
 */
export function keeperOf(core: Core): KeepAliveLoop {
  return perClient(
    keepers,
    core,
    () => new KeepAliveLoop(core.transport),
    (loop) => {
      loop.close();
      for (const lease of loop.leases()) lease.markLost('the client was closed: the lease is no longer kept alive');
    },
  );
}

export function now(): number {
  return performance.now();
}
