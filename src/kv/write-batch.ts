import type { CallOptions, WireObject } from '../core/call-options.ts';
import { type Core, perClient } from '../core/client-core.ts';
import { asRecord, decodeArray } from '../core/codec.ts';
import { type EtcdError, MalformedResponseError, TimeoutError, UnauthenticatedError, UnavailableError } from '../core/errors.ts';
import type { Transport } from '../core/transport.ts';
import { afterGathering, DEFAULT_MAX_OPS } from './batch.ts';
import { type KeyRange, overlaps, rangeOf } from './key-ranges.ts';

/** A put or a delete: the gateway call it would be alone, and its body. */
export type WriteKind = 'put' | 'deleterange';

interface PendingWrite {
  /** Issue order across the client. */
  readonly seq: number;
  readonly kind: WriteKind;
  readonly request: WireObject;
  readonly range: KeyRange;
  readonly bytes: number;
  readonly resolve: (wire: WireObject) => void;
  readonly reject: (error: unknown) => void;
}

/** etcd's `--max-request-bytes` is 1.5 MiB by default: a batch stays well under it. */
const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * Sends the puts and deletes issued in the same tick as one `/v3/kv/txn`, each caller getting
 * the answer or error a single call would give. Writes to the same key (or overlapping ranges)
 * never share a txn: they go in order, one txn after the other. When a txn fails for a reason one
 * write may have caused (a lease not found, permission, too large), etcd applied none of it, and
 * each write is sent again alone. A network failure or timeout fails every write of the txn, each
 * `mayHaveApplied` as a single write would be. Writes in one txn share its revision.
 */
export class WriteBatcher {
  private readonly transport: Transport;
  private readonly maxOps: number;
  private queue: PendingWrite[] = [];
  private scheduled = false;
  /** Writes not yet answered: a later batch waits for those it overlaps. */
  private readonly inFlight = new Set<PendingWrite>();
  private issued = 0;

  constructor(transport: Transport, maxOps: number) {
    this.transport = transport;
    this.maxOps = maxOps;
  }

  /**
   * Answers a put or deleterange request with its wire response, batched with the writes of its
   * tick. `after` (earlier reads of its keys) must settle first; the write counts as pending at
   * once, so a read issued after it waits for it.
   */
  write(kind: WriteKind, request: WireObject, after?: Promise<void>): Promise<WireObject> {
    return new Promise((resolve, reject) => {
      const write: PendingWrite = { seq: this.issued++, kind, request, range: rangeOf(request), bytes: sizeOf(request), resolve, reject };
      this.inFlight.add(write);
      if (after === undefined) this.enqueue(write);
      else void after.then(() => this.enqueue(write));
    });
  }

  private enqueue(write: PendingWrite): void {
    this.queue.push(write);
    if (!this.scheduled) {
      this.scheduled = true;
      afterGathering(() => this.flush());
    }
  }

  /** Settles when every write issued so far that touches the keys of `request` is answered (reads wait on it). */
  pending(request: WireObject): Promise<void> | undefined {
    if (this.inFlight.size === 0) return undefined;
    const range = rangeOf(request);
    let waits: Promise<void>[] | undefined;
    for (const write of this.inFlight) if (overlaps(write.range, range)) (waits ??= []).push(settledOf(write));
    return waits === undefined ? undefined : Promise.all(waits).then(() => undefined);
  }

  private flush(): void {
    const queue = this.queue.sort((a, b) => a.seq - b.seq);
    this.queue = [];
    this.scheduled = false;
    for (const batch of this.split(queue)) {
      // A write never overtakes an earlier one it overlaps: its batch waits for that one's answer.
      const earlier = this.earlierOverlapping(batch);
      void (earlier === undefined ? this.send(batch) : earlier.then(() => this.send(batch)));
    }
  }

  /** Writes issued before `batch` that touch its keys and are not answered yet. */
  private earlierOverlapping(batch: PendingWrite[]): Promise<void> | undefined {
    const first = batch[0]!.seq;
    const waits: Promise<void>[] = [];
    for (const write of this.inFlight) {
      if (write.seq < first && batch.some((w) => overlaps(w.range, write.range))) waits.push(settledOf(write));
    }
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  }

  /** Consecutive batches of at most `maxOps` writes and MAX_BATCH_BYTES, no two overlapping. */
  private split(queue: PendingWrite[]): PendingWrite[][] {
    const batches: PendingWrite[][] = [];
    let current: PendingWrite[] = [];
    let bytes = 0;
    for (const write of queue) {
      const full = current.length >= this.maxOps || bytes + write.bytes > MAX_BATCH_BYTES;
      if (current.length > 0 && (full || current.some((w) => overlaps(w.range, write.range)))) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(write);
      bytes += write.bytes;
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  private async send(batch: PendingWrite[]): Promise<void> {
    if (batch.length === 1) return this.sendAlone(batch[0]!);
    let wire: WireObject;
    try {
      const body = { success: batch.map((w) => ({ [`request_${w.kind === 'put' ? 'put' : 'delete_range'}`]: w.request })) };
      wire = await this.transport.request('/kv/txn', body);
    } catch (error) {
      if (error instanceof UnavailableError || error instanceof TimeoutError || error instanceof UnauthenticatedError) {
        for (const write of batch) this.settle(write, () => write.reject(asOwn(error, write)));
        return;
      }
      // A write of the txn was refused, so none was applied: each one alone, in order.
      for (const write of batch) await this.sendAlone(write);
      return;
    }
    try {
      const answers = splitWrites(wire, batch);
      batch.forEach((write, i) => this.settle(write, () => write.resolve(answers[i]!)));
    } catch (error) {
      for (const write of batch) this.settle(write, () => write.reject(error));
    }
  }

  private async sendAlone(write: PendingWrite): Promise<void> {
    try {
      const wire = await this.transport.request(`/kv/${write.kind}`, write.request);
      this.settle(write, () => write.resolve(wire));
    } catch (error) {
      this.settle(write, () => write.reject(error));
    }
  }

  private settle(write: PendingWrite, outcome: () => void): void {
    this.inFlight.delete(write);
    outcome();
    settled.get(write)?.();
  }
}

const settled = new WeakMap<PendingWrite, () => void>();

function settledOf(write: PendingWrite): Promise<void> {
  return new Promise((resolve) => {
    const earlier = settled.get(write);
    settled.set(write, () => {
      earlier?.();
      resolve();
    });
  });
}

/** About how many bytes a write adds to a txn's body: its base64 key, range end and value. */
function sizeOf(request: WireObject): number {
  const text = (field: unknown) => (typeof field === 'string' ? field.length : 0);
  return text(request.key) + text(request.range_end) + text(request.value) + 64;
}

/** The txn's failure as the caller's own write would have met it. */
function asOwn(error: EtcdError, write: PendingWrite): EtcdError {
  const path = `/v3/kv/${write.kind}`;
  const details = { path, endpoint: error.endpoint, status: error.status, code: error.code, cause: error };
  if (error instanceof UnavailableError) return new UnavailableError(error.message, { ...details, mayHaveApplied: error.mayHaveApplied, retryable: error.retryable });
  if (error instanceof TimeoutError) return new TimeoutError(`${path} did not finish in time (it was written in a batched ${error.path ?? '/v3/kv/txn'})`, details);
  return new UnauthenticatedError(error.message, details);
}

/** Each write's own answer: its `response_put` or `response_delete_range`, with the txn's header. */
function splitWrites(wire: WireObject, batch: PendingWrite[]): WireObject[] {
  const responses = decodeArray(wire.responses, 'responses');
  if (responses.length !== batch.length) {
    throw new MalformedResponseError(`txn answered ${responses.length} responses for ${batch.length} writes`, { path: '/v3/kv/txn' });
  }
  return responses.map((response, i) => {
    const field = batch[i]!.kind === 'put' ? 'response_put' : 'response_delete_range';
    return { ...asRecord(asRecord(response, 'txn response')[field] ?? {}, field), header: wire.header };
  });
}

const writers = new WeakMap<Transport, WriteBatcher>();

/** The write batcher of a client (shared by its namespaces), or undefined when writes are not batched. */
export function writeBatcherOf(core: Core): WriteBatcher | undefined {
  if (core.batch === false || core.batch.writes === false) return undefined;
  const maxOps = core.batch.maxOps ?? DEFAULT_MAX_OPS;
  return perClient(writers, core, () => new WriteBatcher(core.transport, maxOps), () => {});
}

/** Writes with their own signal or deadline go alone: one caller's signal cannot end another's write. */
export function batchable(options: CallOptions): boolean {
  return options.signal === undefined && options.timeout === undefined && options.requireLeader === undefined;
}
