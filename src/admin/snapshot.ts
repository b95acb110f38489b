import { mapFetchError } from '../core/answer.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { decodeBytes, decodeInt } from '../core/codec.ts';
import { Deadline } from '../core/deadline.ts';
import { AbortedError, TimeoutError, UnavailableError } from '../core/errors.ts';
import { readJsonLines } from '../core/lines.ts';
import { streamResult } from '../core/stream-message.ts';
import { type MemberRef, memberEndpoint } from './member-target.ts';
import { Steps } from './steps.ts';

/**
 * How far a snapshot download is. etcd counts `remainingBytes` in its database file; the
 * stream ends with a 32-byte SHA-256 of the file, so the total received is the file's size + 32.
 *
 * @example
 * await snapshot(etcd, { onProgress: ({ receivedBytes, remainingBytes }) => console.log(receivedBytes, remainingBytes) });
 */
export interface SnapshotProgress {
  /** Bytes handed to the consumer so far. */
  receivedBytes: number;
  /** Bytes of the database file etcd still has to send after the chunk just handed over. */
  remainingBytes: number;
}

/**
 * Options of a snapshot download. `signal` ends it at any point (the stream then errors with
 * `AbortedError` and its connection closes); `timeout` bounds everything until the first chunk
 * (resolving `member`, connecting, etcd starting to send), not the download.
 *
 * @example
 * const stream = await snapshot(etcd, { signal: AbortSignal.timeout(60_000), onProgress: console.log });
 */
export interface SnapshotOptions {
  signal?: AbortSignal;
  /** Deadline in milliseconds for etcd to send the first chunk (default: the client's `timeout`). */
  timeout?: number;
  /** Called after each chunk is handed to the consumer. */
  onProgress?: (progress: SnapshotProgress) => void;
  /** The member to copy (a client URL or a member ID); default: the client's current endpoint. */
  member?: MemberRef;
}

const ROUTE = '/maintenance/snapshot';
const PATH = `/v3${ROUTE}`;

/**
 * Streams the backend database of the member behind the current endpoint, as etcd's
 * `Snapshot` call sends it (the file, then its SHA-256): what `etcdctl snapshot save` writes,
 * and what `etcdctl snapshot restore` takes. Resolves once etcd has sent the first chunk (so a
 * refused call rejects here); the stream reads a chunk from etcd only when its consumer asks
 * for one, so memory stays bounded by one chunk (32 KiB on etcd 3.4) whatever the file's size.
 * Cancelling the stream, or aborting `signal`, closes the connection.
 *
 * @example
 * const stream = await snapshot(etcd, { onProgress: (p) => console.log(p.remainingBytes) });
 * await stream.pipeTo(fileWritable); // a WritableStream of a file, e.g. Deno.open(...).writable
 */
export async function snapshot(client: Client, options: SnapshotOptions = {}): Promise<ReadableStream<Uint8Array>> {
  const core = coreOf(client);
  const { signal, onProgress, member } = options;
  // Resolving the member, connecting and the first chunk share one deadline; the chunks after
  // it come at the pace their consumer reads them, bounded by `signal` alone.
  const steps = new Steps(core.transport, { signal, timeout: options.timeout }, PATH);
  // The stream's own signal: the caller's, or the deadline before the first chunk (aborting the
  // fetch is what ends a read in progress).
  const stream = new AbortController();
  if (signal?.aborted) stream.abort(signal.reason);
  else signal?.addEventListener('abort', () => stream.abort(signal.reason), { once: true });
  let chunks: Chunks | undefined;
  let first: Uint8Array | undefined;
  try {
    const pinned = member === undefined ? undefined : await memberEndpoint(core, member, steps.next());
    // A stale token is renewed by openStream: etcd refuses the call before sending anything.
    const { response, endpoint } = await core.transport.openStream(ROUTE, '{}', {
      signal: stream.signal,
      connectTimeout: steps.next().timeout,
      endpoint: pinned,
    });
    chunks = new Chunks(readJsonLines(response.body!), endpoint, stream.signal);
    first = await firstChunk(chunks, steps, stream, endpoint);
  } catch (error) {
    stream.abort(error);
    void chunks?.close();
    throw steps.explain(error);
  }
  const opened = chunks;
  let receivedBytes = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = first ?? (await opened.next());
        first = undefined;
        if (chunk === undefined) {
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        receivedBytes += chunk.length;
        onProgress?.({ receivedBytes, remainingBytes: opened.remainingBytes });
      },
      async cancel() {
        await opened.close();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The first chunk, within what is left of the deadline: a member that sent its headers and then
 * nothing must not hold the call (the body is cancelled when time runs out).
 */
async function firstChunk(
  chunks: Chunks,
  steps: Steps,
  stream: AbortController,
  endpoint: string,
): Promise<Uint8Array | undefined> {
  const wait = new Deadline(steps.next().timeout!, undefined);
  try {
    return await wait.race(chunks.next());
  } catch (error) {
    stream.abort(error);
    if (!wait.timedOut) throw error;
    throw new TimeoutError(`${PATH} sent no chunk in time`, { endpoint, path: PATH });
  } finally {
    wait.dispose();
  }
}

/** The file's chunks out of the stream's messages, one message read per chunk asked for. */
class Chunks {
  remainingBytes = Number.POSITIVE_INFINITY;
  private readonly messages: AsyncGenerator<unknown, void, undefined>;
  private readonly endpoint: string;
  private readonly signal: AbortSignal | undefined;

  constructor(messages: AsyncGenerator<unknown, void, undefined>, endpoint: string, signal: AbortSignal | undefined) {
    this.messages = messages;
    this.endpoint = endpoint;
    this.signal = signal;
  }

  /** The next chunk of the file, or undefined at its end; any failure closes the connection. */
  async next(): Promise<Uint8Array | undefined> {
    try {
      for (;;) {
        // Lines already read may still be waiting in the splitter: an abort must not wait for them.
        this.signal?.throwIfAborted();
        const message = await this.messages.next();
        if (message.done) break;
        const result = streamResult(message.value, this.endpoint, PATH);
        this.remainingBytes = decodeInt(result.remaining_bytes, 'remaining_bytes');
        const blob = decodeBytes(result.blob);
        if (blob.length > 0) return blob;
      }
      this.signal?.throwIfAborted();
    } catch (error) {
      await this.close();
      throw failure(error, this.signal, this.endpoint);
    }
    if (this.remainingBytes !== 0) {
      throw new UnavailableError(`the snapshot from ${this.endpoint} ended ${this.remainingBytes} bytes early`, {
        endpoint: this.endpoint,
        path: PATH,
      });
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.messages.return().catch(() => {});
  }
}

function failure(error: unknown, signal: AbortSignal | undefined, endpoint: string): unknown {
  if (signal?.aborted) return new AbortedError(`${PATH} was aborted`, { endpoint, path: PATH, cause: signal.reason });
  return mapFetchError(error, endpoint, PATH, 'the snapshot stream broke off');
}
