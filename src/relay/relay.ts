import { WatchCompactedError } from '../core/errors.ts';
import type { KeySelector } from '../core/keyspace.ts';
import { encodeRelayEvent, eventId, resumePoint } from './relay-event.ts';
import type { Watch, WatchEvent, WatchOptions } from '../watch/watch.ts';
import { setRepeating } from '../core/timers.ts';

export interface RelayOptions {
  /** Include each key's previous value. */
  prevKv?: boolean;
  /** Milliseconds between heart-beat comments that keep proxies from closing an idle stream (15 000). */
  heartbeat?: number;
  /** Where to start when the request carries no `Last-Event-ID` (default: changes from now on). */
  startRevision?: number;
  /** Headers added to the answer, such as `Access-Control-Allow-Origin`. */
  headers?: Headers | Record<string, string> | Array<[string, string]>;
  /** Reconnection delay suggested to `EventSource` in milliseconds (1 000). */
  retry?: number;
}

/** What the relay needs of a client: `etcd.watch`. */
export interface Watchable {
  watch(options: WatchOptions): Watch;
}

const encoder = new TextEncoder();

/**
 * Serves a watch as a `text/event-stream` answer to `request`: one SSE event per etcd event
 * (`event:` put or delete, `id:` its revision, `data:` the event as JSON), heart-beat comments,
 * and a resume from the request's `Last-Event-ID` header (or `lastEventId` query parameter) so
 * `EventSource`'s automatic reconnect loses and repeats nothing. Once etcd has created the
 * watch, `event: ready` (with `{ revision }`) says every later change will arrive. A compaction
 * past the resume point sends `event: compacted` with `{ compactRevision }` and ends the stream.
 */
export function relayWatch(etcd: Watchable, request: Request, selector: KeySelector, options: RelayOptions = {}): Response {
  const url = new URL(request.url);
  const resume = resumePoint(request.headers.get('last-event-id') ?? url.searchParams.get('lastEventId'));
  const startRevision = resume?.startRevision ?? options.startRevision;
  let skip = resume?.skip ?? 0;
  const controller = new AbortController();
  const watch = etcd.watch({ ...selector, prevKv: options.prevKv, ...(startRevision ? { startRevision } : {}), signal: controller.signal } as WatchOptions);
  const responses = watch.responses();
  let heartbeat: ReturnType<typeof setInterval> | undefined;

  const stop = () => {
    clearInterval(heartbeat);
    controller.abort();
    watch.close();
  };
  request.signal?.addEventListener('abort', stop, { once: true });

  const body = new ReadableStream<Uint8Array>({
    async start(stream) {
      stream.enqueue(encoder.encode(`retry: ${options.retry ?? 1_000}\n: etcd-fetch relay\n\n`));
      try {
        await watch.ready;
      } catch {
        return; // pull() reports the error
      }
      // Once etcd has created the watch, its revision is a safe resume point even before any
      // event (unless a resume is still skipping into a revision: then the id must stay as it was).
      const id = skip === 0 ? `id: ${watch.revision}\n` : '';
      stream.enqueue(encoder.encode(`${id}event: ready\ndata: ${JSON.stringify({ revision: watch.revision })}\n\n`));
      heartbeat = beat(stream, options.heartbeat ?? 15_000);
    },
    async pull(stream) {
      try {
        const next = await responses.next();
        if (next.done) {
          stop();
          stream.close();
          return;
        }
        const chunk = format(next.value.events, skip);
        skip = 0;
        if (chunk !== '') stream.enqueue(encoder.encode(chunk));
      } catch (error) {
        stop();
        const last = lastEvent(error, controller.signal.aborted);
        if (last !== '') stream.enqueue(encoder.encode(last));
        stream.close();
      }
    },
    cancel() {
      stop();
    },
  });

  return new Response(body, { status: 200, headers: eventStreamHeaders(options.headers) });
}

/** Heart-beat comments every `ms`, which keep proxies from closing an idle stream. */
function beat(stream: ReadableStreamDefaultController<Uint8Array>, ms: number): ReturnType<typeof setInterval> {
  const timer = setRepeating(() => {
    try {
      stream.enqueue(encoder.encode(': heartbeat\n\n'));
    } catch {
      clearInterval(timer);
    }
  }, ms);
  return timer;
}

function eventStreamHeaders(extra: RelayOptions['headers']): Headers {
  const headers = new Headers(extra);
  headers.set('content-type', 'text/event-stream; charset=utf-8');
  headers.set('cache-control', 'no-cache, no-transform');
  headers.set('x-accel-buffering', 'no');
  return headers;
}

/** The event that ends a stream: `compacted`, `error`, or nothing when the reader went away. */
function lastEvent(error: unknown, aborted: boolean): string {
  if (error instanceof WatchCompactedError) return `event: compacted\ndata: ${JSON.stringify({ compactRevision: error.compactRevision })}\n\n`;
  if (aborted) return '';
  return `event: error\ndata: ${JSON.stringify({ name: (error as Error).name, message: (error as Error).message })}\n\n`;
}

/** SSE text for the events of one watch answer, skipping the first `skip` events of its first revision. */
function format(events: WatchEvent[], skip: number): string {
  let text = '';
  const first = events[0]?.revision;
  let index = -1;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    index = i > 0 && events[i - 1]!.revision === event.revision ? index + 1 : 0;
    if (event.revision === first && index < skip) continue;
    const last = events[i + 1]?.revision !== event.revision;
    text += `id: ${eventId(event.revision, index, last)}\nevent: ${event.type}\ndata: ${encodeRelayEvent(event)}\n\n`;
  }
  return text;
}
