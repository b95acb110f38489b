import type { EventSourceMessage } from 'eventsource-parser';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { errorFromResponse } from '../core/answer.ts';
import type { FetchLike } from '../core/call-options.ts';
import { describe } from '../core/codec.ts';
import {
  AbortedError,
  EtcdError,
  InvalidArgumentError,
  MalformedResponseError,
  WatchCompactedError,
} from '../core/errors.ts';
import { backoff, sleep } from '../core/timers.ts';
import type { WatchEvent } from '../watch/watch.ts';
import { decodeRelayEvent } from './relay-event.ts';

/**
 * Options of `subscribe`: headers, a signal, where to resume, and callbacks.
 *
 * @example
 * ```ts
 * subscribe('/events', { headers: { authorization: `Bearer ${token}` }, signal, onReady: (revision) => console.log('live from', revision) });
 * ```
 */
export interface SubscribeOptions {
  /** Headers for the relay (a session cookie travels by itself; an API key goes here). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Resume after this event id (an earlier event's `id`), instead of starting from now. */
  lastEventId?: string;
  fetch?: FetchLike;
  /** Longest event the parser buffers, in characters (4 Mi). */
  maxBufferSize?: number;
  /** Called each time the relay's watch is in place: every change after `revision` will arrive. */
  onReady?: (revision: number) => void;
  /** Called before each reconnect, with the event id the stream resumes after. */
  onReconnect?: (info: { attempt: number; lastEventId: string | undefined; error: unknown }) => void;
}

/**
 * An event from a relay, with the SSE id to resume after it.
 *
 * @example
 * ```ts
 * for await (const event of subscribe('/events')) localStorage.setItem('resume', event.id);
 * ```
 */
export type RelayedEvent = WatchEvent & { id: string };

const MAX_DELAY = 30_000;

/**
 * Reads a relay's Server-Sent Events (see `relayWatch`) over `fetch`, so it can send headers and
 * runs wherever `fetch` does. Reconnects by itself after a broken stream, resuming after the
 * last event it yielded; ends with `WatchCompactedError` when the relay reports a compaction
 * or refuses to resume from that far back (start over: re-read the state, then subscribe
 * without `lastEventId`), and with `AbortedError` when the signal fires.
 *
 * @example
 * ```ts
 * for await (const event of subscribe('https://relay.example/events', { headers: { authorization: `Bearer ${token}` } })) {
 *   console.log(event.type, event.kv.keyText, event.kv.valueText);
 * }
 * ```
 */
export async function* subscribe(
  url: string | URL,
  options: SubscribeOptions = {},
): AsyncGenerator<RelayedEvent, void, undefined> {
  const base = relayUrl(url);
  const fetchImpl: FetchLike = options.fetch ?? ((request, init) => fetch(request, init));
  let lastEventId = options.lastEventId;
  let retry = 1_000;
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted)
      throw new AbortedError('the subscription was aborted', { cause: options.signal.reason });
    let failure: unknown;
    let received = false;
    try {
      const target = new URL(base);
      // A query parameter rather than a Last-Event-ID header: no CORS preflight.
      if (lastEventId !== undefined) target.searchParams.set('lastEventId', lastEventId);
      // Redirects are not followed: the headers (an API key, say) must not reach another server.
      const request = new Request(target, {
        headers: { accept: 'text/event-stream', ...options.headers },
        signal: options.signal,
        redirect: 'manual',
      });
      const response = await fetchImpl(request);
      if (!response.ok) {
        const error = await errorFromResponse(response, target.origin, target.pathname);
        if (response.status < 500 || isRedirect(response)) throw error;
        failure = error;
      } else if (!response.body) {
        throw new MalformedResponseError('the relay answered without a body');
      } else {
        const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(
          new EventSourceParserStream({
            onError: 'terminate',
            maxBufferSize: options.maxBufferSize ?? 4 * 1024 * 1024,
            onRetry: (ms) => (retry = ms),
          }),
        );
        const reader = events.getReader();
        try {
          for (;;) {
            const { value: message, done } = await reader.read();
            if (done) break;
            const event =
              message.event === 'put' || message.event === 'delete' ? decodeRelayEvent(message.data) : undefined;
            if (message.id !== undefined) lastEventId = message.id;
            if (event === undefined) {
              failure = control(message, options.onReady) ?? failure;
              continue;
            }
            received = true;
            yield { ...event, id: message.id ?? String(event.revision) };
          }
        } finally {
          await reader.cancel().catch(() => {});
        }
      }
    } catch (error) {
      if (options.signal?.aborted)
        throw new AbortedError('the subscription was aborted', { cause: options.signal.reason });
      if (isFinal(error)) throw error;
      failure = error;
    }
    if (received) attempt = 0;
    options.onReconnect?.({ attempt: attempt + 1, lastEventId, error: failure });
    await sleep(backoff(attempt + 1, retry, MAX_DELAY), options.signal);
  }
}

/**
 * The relay's absolute http(s) URL, resolved against the page's address where there is one: a URL
 * that cannot be used (relative in Node, invalid, another scheme) is an `InvalidArgumentError` at
 * once, never a retry.
 */
function relayUrl(url: string | URL): URL {
  if (typeof url !== 'string' && !(url instanceof URL))
    throw new InvalidArgumentError(`subscribe needs a URL, got ${describe(url)}`);
  let parsed: URL;
  try {
    parsed = new URL(url, globalThis.location?.href);
  } catch {
    const hint =
      globalThis.location === undefined
        ? ' (a relative URL needs a page to resolve against: pass an absolute one)'
        : '';
    throw new InvalidArgumentError(`subscribe needs an absolute http(s) URL; this one does not parse${hint}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InvalidArgumentError(`subscribe needs an http(s) URL, got one with ${describe(parsed.protocol)}`);
  return parsed;
}

/** Acts on a message that is not an event: `ready`, `compacted` (thrown), or `error` (returned). */
function control(message: EventSourceMessage, onReady: SubscribeOptions['onReady']): EtcdError | undefined {
  if (message.event === 'ready') {
    onReady?.((JSON.parse(message.data) as { revision: number }).revision);
  } else if (message.event === 'compacted') {
    const { compactRevision, reason } = JSON.parse(message.data) as { compactRevision: number; reason?: string };
    // reason: 'resume-refused' when the relay does not replay from that far back.
    const why = `the relay cannot watch from before revision ${compactRevision} (${reason ?? 'compacted'})`;
    throw new WatchCompactedError(why, compactRevision);
  } else if (message.event === 'error') {
    return new EtcdError(`the relay reported: ${message.data}`);
  }
  return undefined;
}

function isRedirect(response: Response): boolean {
  return response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400);
}

/** Errors a reconnect cannot mend: a compaction, or the relay refusing the request (4xx). */
function isFinal(error: unknown): boolean {
  return (
    error instanceof WatchCompactedError ||
    (error instanceof EtcdError && error.status !== undefined && error.status < 500)
  );
}
