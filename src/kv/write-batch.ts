import type { CallOptions, WireObject } from '../core/call-options.ts';
import { asRecord, decodeArray } from '../core/codec.ts';
import {
  AbortedError,
  EtcdError,
  errorFromStatus,
  GrpcCode,
  MalformedResponseError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
} from '../core/errors.ts';
import type { Transport } from '../core/transport.ts';
import { afterGathering, DEFAULT_MAX_OPS } from './batch.ts';
import { type KeyRange, overlaps, rangeOf } from './key-ranges.ts';

/** A put or a delete: the gateway call it would be alone, and its body. */
export type WriteKind = 'put' | 'deleterange';

interface PendingWrite {
  readonly kind: WriteKind;
  readonly request: WireObject;
  readonly range: KeyRange;
  readonly bytes: number;
  /** `performance.now()` by which the write must be answered (its deadline, queue time already spent). */
  readonly until: number;
  readonly resolve: (wire: WireObject) => void;
  readonly reject: (error: unknown) => void;
}

/** etcd's `--max-request-bytes` is 1.5 MiB by default: a batch stays well under it. */
const MAX_BATCH_BYTES = 1024 * 1024;
/**
 * Bytes a write without `prev_kv` adds to the txn's answer, at most: `{"response_put":{"header":
 * {"revision":"..."}}}` or a delete's count. Overhead: the txn's own header and fields.
 */
const ANSWER_BYTES_PER_WRITE = 128;
const ANSWER_OVERHEAD_BYTES = 512;

/**
 * Sends the puts and deletes handed to it in the same tick as one `/v3/kv/txn`, each caller
 * getting the answer or error a single call would give. Order is the scheduler's: writes to the
 * same keys never reach the batcher together (it still never puts two overlapping writes in one
 * txn). A txn's answer must fit `maxResponseBytes`: writes with `prev_kv`, whose answers have
 * no known bound, are not batched at all.
 *
 * Whether a txn applied is decided only from etcd's own answer. When etcd refused it for a reason
 * one write may have caused (a lease not found, permission, a duplicate key, too large), it
 * applied none of it, and each write is sent again alone. Any other failure (no answer, one cut
 * off, garbled or too large, a proxy's error page, a timeout) fails every write of the txn,
 * `mayHaveApplied`, and nothing is sent again. Writes in one txn share its revision.
 */
export class WriteBatcher {
  private readonly transport: Transport;
  private readonly maxOps: number;
  private queue: PendingWrite[] = [];
  private scheduled = false;

  constructor(transport: Transport, maxOps = DEFAULT_MAX_OPS) {
    this.transport = transport;
    this.maxOps = maxOps;
  }

  /** Answers a put or deleterange request with its wire response, batched with the writes of its tick; `timeout` is what is left of its deadline. */
  write(kind: WriteKind, request: WireObject, timeout = this.transport.timeout): Promise<WireObject> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        kind,
        request,
        range: rangeOf(request),
        bytes: sizeOf(request),
        until: performance.now() + timeout,
        resolve,
        reject,
      });
      if (!this.scheduled) {
        this.scheduled = true;
        afterGathering(() => this.flush());
      }
    });
  }

  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    this.scheduled = false;
    for (const batch of this.split(queue)) void this.send(batch);
  }

  /** Consecutive batches of at most `maxOps` writes, MAX_BATCH_BYTES sent and `maxResponseBytes` answered, no two overlapping. */
  private split(queue: PendingWrite[]): PendingWrite[][] {
    const maxAnswers = Math.max(
      1,
      Math.floor((this.transport.maxResponseBytes - ANSWER_OVERHEAD_BYTES) / ANSWER_BYTES_PER_WRITE),
    );
    const limit = Math.min(this.maxOps, maxAnswers);
    const batches: PendingWrite[][] = [];
    let current: PendingWrite[] = [];
    let bytes = 0;
    for (const write of queue) {
      const full = current.length >= limit || bytes + write.bytes > MAX_BATCH_BYTES;
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
      const body = {
        success: batch.map((w) => ({ [`request_${w.kind === 'put' ? 'put' : 'delete_range'}`]: w.request })),
      };
      wire = await this.transport.request('/kv/txn', body, { timeout: timeLeft(batch) });
    } catch (error) {
      if (refusedByEtcd(error)) {
        // etcd refused the txn before applying any of it: each write alone, in order.
        for (const write of batch) await this.sendAlone(write);
      } else {
        for (const write of batch) write.reject(asOwn(error, write));
      }
      return;
    }
    let answers: WireObject[];
    try {
      answers = splitWrites(wire, batch);
    } catch (error) {
      for (const write of batch) write.reject(asOwn(error, write));
      return;
    }
    batch.forEach((write, i) => write.resolve(answers[i]!));
  }

  private async sendAlone(write: PendingWrite): Promise<void> {
    try {
      write.resolve(await this.transport.request(`/kv/${write.kind}`, write.request, { timeout: timeLeft([write]) }));
    } catch (error) {
      write.reject(unreadAnswer(error, `/v3/kv/${write.kind}`));
    }
  }
}

/** Writes with their own signal, deadline or leader check go alone (one caller's signal cannot end another's write), as do those asking for `prev_kv`, whose answers have no known size. */
export function batchable(options: CallOptions, request: WireObject): boolean {
  return (
    options.signal === undefined &&
    options.timeout === undefined &&
    options.requireLeader === undefined &&
    request.prev_kv !== true
  );
}

/**
 * A write's error, marked `mayHaveApplied` when the answer to `path` was not read: one that
 * arrived but could not be read (garbled, cut off, too large), or none within the deadline. An
 * error of another request (the token's authentication, before the write was sent) is not.
 */
export function unreadAnswer(error: unknown, path: string): unknown {
  if (
    (error instanceof MalformedResponseError || error instanceof TimeoutError) &&
    error.mayHaveApplied === undefined &&
    answersTo(error, path)
  ) {
    (error as { mayHaveApplied?: boolean }).mayHaveApplied = true;
  }
  return error;
}

/** Whether an error is about the request to `path` itself (not one made before sending it). */
function answersTo(error: EtcdError, path: string): boolean {
  return error.path === undefined || error.path === path;
}

/**
 * etcd's refusals that prove it applied nothing of a txn: it checks these before applying any
 * operation (duplicate keys, too many operations, request too large, lease not found, a key
 * `ignore_value` cannot find, permission, no space). The message must be etcd's own: a proxy's
 * 400 page is mapped to INVALID_ARGUMENT by its status alone, and gRPC's "received message larger
 * than max" (RESOURCE_EXHAUSTED) is also what the 3.4/3.5 gateway says of an answer over 4 MiB,
 * after etcd applied the txn.
 */
const REFUSALS: ReadonlySet<number | undefined> = /* @__PURE__ */ new Set([
  GrpcCode.INVALID_ARGUMENT,
  GrpcCode.NOT_FOUND,
  GrpcCode.PERMISSION_DENIED,
  GrpcCode.RESOURCE_EXHAUSTED,
  GrpcCode.FAILED_PRECONDITION,
]);

export function refusedByEtcd(error: unknown): boolean {
  if (!(error instanceof EtcdError) || error instanceof UnauthenticatedError) return false;
  const status = error.status;
  return (
    status !== undefined &&
    status >= 400 &&
    status < 500 &&
    REFUSALS.has(error.code) &&
    error.message.startsWith('etcdserver: ')
  );
}

function timeLeft(batch: readonly PendingWrite[]): number {
  let until = Infinity;
  for (const write of batch) until = Math.min(until, write.until);
  return Math.max(1, Math.round(until - performance.now()));
}

/** About how many bytes a write adds to a txn's body: its base64 key, range end and value. */
function sizeOf(request: WireObject): number {
  const text = (field: unknown) => (typeof field === 'string' ? field.length : 0);
  return text(request.key) + text(request.range_end) + text(request.value) + 64;
}

/**
 * The txn's failure as the caller's own write would have met it, naming its path. Nothing that
 * was sent is known not to have applied, except what the error itself says (a refused
 * connection, an expired token, a closed client).
 */
function asOwn(error: unknown, write: PendingWrite): EtcdError {
  const path = `/v3/kv/${write.kind}`;
  if (!(error instanceof EtcdError)) {
    return new MalformedResponseError(
      `${path}: the answer of its batched txn could not be read (${String(error)}); the write may have been applied`,
      { path, cause: error, mayHaveApplied: true },
    );
  }
  const details = { path, endpoint: error.endpoint, status: error.status, code: error.code, cause: error };
  // Failed before the txn was sent (its token could not be had): nothing was applied, and the error says so itself.
  if (!answersTo(error, '/v3/kv/txn')) return error;
  if (error instanceof UnavailableError)
    return new UnavailableError(error.message, {
      ...details,
      mayHaveApplied: error.mayHaveApplied,
      retryable: error.retryable,
    });
  if (error instanceof UnauthenticatedError) return new UnauthenticatedError(error.message, details);
  if (error instanceof AbortedError) return new AbortedError(error.message, details);
  if (error instanceof TimeoutError)
    return new TimeoutError(
      `${path} did not finish in time (it was written in a batched ${error.path ?? '/v3/kv/txn'})`,
      { ...details, mayHaveApplied: true },
    );
  if (error instanceof MalformedResponseError) {
    return new MalformedResponseError(
      `${path}: the answer of its batched txn could not be read (${error.message}); the write may have been applied`,
      { ...details, mayHaveApplied: true },
    );
  }
  // An error answer that is not etcd's own refusal (a proxy's page, an UNKNOWN from the server).
  return errorFromStatus(error.code, error.message, { ...details, mayHaveApplied: true });
}

/** Each write's own answer: its `response_put` or `response_delete_range`, with the txn's header. */
function splitWrites(wire: WireObject, batch: PendingWrite[]): WireObject[] {
  const responses = decodeArray(wire.responses, 'responses');
  if (responses.length !== batch.length) {
    throw new MalformedResponseError(`txn answered ${responses.length} responses for ${batch.length} writes`, {
      path: '/v3/kv/txn',
    });
  }
  return responses.map((response, i) => {
    const field = batch[i]!.kind === 'put' ? 'response_put' : 'response_delete_range';
    return { ...asRecord(asRecord(response, 'txn response')[field] ?? {}, field), header: wire.header };
  });
}
