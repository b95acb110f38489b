import type { CallOptions, WireObject } from '../core/call-options.ts';
import type { BatchOptions } from '../core/client-core.ts';
import { asRecord, decodeArray, describe } from '../core/codec.ts';
import { Deadline } from '../core/deadline.ts';
import {
  type EtcdError,
  InvalidArgumentError,
  MalformedResponseError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
} from '../core/errors.ts';
import type { Transport } from '../core/transport.ts';

export type { BatchOptions } from '../core/client-core.ts';

export const DEFAULT_MAX_OPS = 128;
const READ_PATH = '/v3/kv/range';

/**
 * Microtask turns a batch waits before it is sent, so that callers resuming from the same
 * answer (each after a few `await`s) can still join the next batch. Costs no timer.
 */
const GATHER_TURNS = 4;

interface PendingRead {
  readonly request: WireObject;
  readonly options: CallOptions;
  /** The caller's own signal and timeout, when it gave either: they end its wait alone. */
  readonly own: Deadline | undefined;
  readonly resolve: (wire: WireObject) => void;
  readonly reject: (error: unknown) => void;
  /** `Date.now()` when the call was made: a read sent alone after a failed txn keeps its deadline. */
  readonly since: number;
  settled: boolean;
  /** Told when this read gave up on its own, so a batch nobody waits for is cancelled. */
  onGiveUp: (() => void) | undefined;
}

/**
 * Sends the range reads issued in the same tick as one `/v3/kv/txn` of `request_range`
 * operations (no comparisons), split at `maxOps`, and hands each caller its own answer.
 * Only reads that mean the same inside a txn travel together: same `serializable` flag and
 * same explicit revision. A read alone in its tick goes as a plain `/kv/range`. When the txn
 * fails for a reason one of its reads may have caused (a future or compacted revision, a key
 * without permission, an answer too large), each read is sent again alone, so every caller
 * gets exactly the answer or error a single call would have.
 */
export class ReadBatcher {
  readonly maxOps: number;
  private readonly transport: Transport;
  private queue: PendingRead[] = [];
  private scheduled = false;

  constructor(transport: Transport, options: BatchOptions = {}) {
    const maxOps = options.maxOps ?? DEFAULT_MAX_OPS;
    if (!Number.isSafeInteger(maxOps) || maxOps < 1)
      throw new InvalidArgumentError(`batch.maxOps must be a positive integer, got ${describe(maxOps)}`);
    this.transport = transport;
    this.maxOps = maxOps;
  }

  /** Answers a wire range request (`/kv/range`'s body) with its wire response, batched when it can be. */
  range(request: WireObject, options: CallOptions = {}): Promise<WireObject> {
    const timeout = options.timeout;
    if (options.signal?.aborted || (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0))) {
      // Rejected by the transport exactly as an unbatched call would be.
      return this.single(request, options);
    }
    return new Promise<WireObject>((resolve, reject) => {
      const own =
        options.signal !== undefined || timeout !== undefined
          ? new Deadline(timeout ?? this.transport.timeout, options.signal)
          : undefined;
      const read: PendingRead = {
        request,
        options,
        own,
        resolve,
        reject,
        since: Date.now(),
        settled: false,
        onGiveUp: undefined,
      };
      own?.signal.addEventListener('abort', () => this.giveUp(read), { once: true });
      this.queue.push(read);
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
    const groups = new Map<string, PendingRead[]>();
    for (const read of queue) {
      if (read.settled) continue;
      const key = `${read.request.serializable === true}:${String(read.request.revision ?? '')}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [read]);
      else group.push(read);
    }
    for (const group of groups.values()) {
      for (let start = 0; start < group.length; start += this.maxOps) {
        const batch = group.slice(start, start + this.maxOps);
        if (batch.length === 1) this.sendAlone(batch[0]!);
        else void this.sendBatch(batch);
      }
    }
  }

  private sendAlone(read: PendingRead, timeout = read.options.timeout): void {
    this.single(read.request, { signal: read.options.signal, timeout }).then(
      (wire) => settle(read, () => read.resolve(wire)),
      (error: unknown) => settle(read, () => read.reject(error)),
    );
  }

  private async sendBatch(reads: PendingRead[]): Promise<void> {
    // Cancelled once every caller gave up: only callers with a signal or timeout of their own can.
    let controller: AbortController | undefined;
    if (reads.some((read) => read.own !== undefined)) {
      const cancel = (controller = new AbortController());
      let waiting = reads.length;
      for (const read of reads) {
        read.onGiveUp = () => {
          if (--waiting === 0) cancel.abort();
        };
      }
    }
    let wire: WireObject;
    try {
      const body = { success: reads.map((read) => ({ request_range: read.request })) };
      wire = await this.transport.request('/kv/txn', body, {
        idempotent: true,
        signal: controller?.signal,
        timeout: this.longestTimeout(reads),
      });
    } catch (error) {
      if (controller?.signal.aborted) return; // every caller already gave up
      if (error instanceof UnavailableError || error instanceof TimeoutError || error instanceof UnauthenticatedError) {
        // Nothing one read asked for causes these: each read alone would have met the same.
        for (const read of reads) settle(read, () => read.reject(this.asOwn(error, read)));
      } else {
        for (const read of reads) if (!read.settled) this.sendAlone(read, this.remaining(read));
      }
      return;
    }
    let answers: WireObject[];
    try {
      answers = splitAnswers(wire, reads.length);
    } catch (error) {
      for (const read of reads) settle(read, () => read.reject(error));
      return;
    }
    reads.forEach((read, i) => settle(read, () => read.resolve(answers[i]!)));
  }

  /** The batch's failure as the caller's own read would have met it: its path, its deadline. */
  private asOwn(error: EtcdError, read: PendingRead): EtcdError {
    const details = { path: READ_PATH, endpoint: error.endpoint, status: error.status, code: error.code, cause: error };
    if (error instanceof TimeoutError) {
      const ms = read.options.timeout ?? this.transport.timeout;
      return new TimeoutError(
        `${READ_PATH} did not finish within ${ms} ms (it was read in a batched ${error.path ?? '/v3/kv/txn'})`,
        details,
      );
    }
    if (error instanceof UnavailableError)
      return new UnavailableError(error.message, { ...details, mayHaveApplied: false, retryable: error.retryable });
    return new UnauthenticatedError(error.message, details);
  }

  private single(request: WireObject, options: CallOptions): Promise<WireObject> {
    return this.transport.request('/kv/range', request, {
      signal: options.signal,
      timeout: options.timeout,
      idempotent: true,
    });
  }

  /** A batch may take as long as the most patient of its callers allows. */
  private longestTimeout(reads: readonly PendingRead[]): number {
    let longest = 0;
    for (const read of reads) longest = Math.max(longest, this.remaining(read));
    return longest;
  }

  private remaining(read: PendingRead): number {
    return Math.max(1, (read.options.timeout ?? this.transport.timeout) - (Date.now() - read.since));
  }

  private giveUp(read: PendingRead): void {
    if (read.settled) return;
    const own = read.own!;
    settle(read, () => read.reject(own.explain(own.signal.reason, READ_PATH)));
    read.onGiveUp?.();
  }
}

/** Each `response_range` of a read-only txn, carrying the txn's full header (the inner ones hold only the revision). */
function splitAnswers(wire: WireObject, expected: number): WireObject[] {
  const responses = decodeArray(wire.responses, 'responses');
  if (responses.length !== expected)
    throw new MalformedResponseError(`txn answered ${responses.length} responses for ${expected} reads`, {
      path: '/v3/kv/txn',
    });
  // Each answer is a fresh object of the parsed txn answer: it takes the header in place.
  return responses.map((response) => {
    const answer = asRecord(asRecord(response, 'txn response').response_range ?? {}, 'response_range');
    answer.header = wire.header;
    return answer;
  });
}

function settle(read: PendingRead, outcome: () => void): void {
  if (read.settled) return;
  read.settled = true;
  read.own?.dispose();
  outcome();
}

/** Runs `run` once the calls of this tick have had time to join the batch (GATHER_TURNS). */
export function afterGathering(run: () => void, turns = GATHER_TURNS): void {
  if (turns === 0) run();
  else queueMicrotask(() => afterGathering(run, turns - 1));
}
