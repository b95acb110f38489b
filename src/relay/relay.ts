import { InvalidArgumentError } from '../core/errors.ts';
import { inEdgeWorker } from '../core/runtime.ts';
import type { KeySelector } from '../core/keyspace.ts';
import { compactedEvent, selectorKey } from './relay-event.ts';
import { RelayFeed, type Watchable } from './relay-feed.ts';
import { defaultPool, type RelayPool } from './relay-pool.ts';
import { checkRelayOptions, checkWatchRequest } from './relay-options.ts';
import { admitResume, type ResumeDecision } from './resume-window.ts';
import { IdSigner } from './signed-ids.ts';

export type { Watchable } from './relay-feed.ts';

/**
 * How `relayWatch` serves a watch: who may watch, resumes, memory bounds, headers.
 *
 * @example
 * ```ts
 * relayWatch(etcd, request, { prefix: 'dashboard/' }, { resumeSecret: env.RELAY_SECRET, headers: { 'access-control-allow-origin': origin } });
 * ```
 */
export interface RelayOptions {
  /** Include each key's previous value. */
  prevKv?: boolean;
  /**
   * Milliseconds between heart-beat comments that keep proxies from closing an idle stream (15 000;
   * 1 000 at least). Also how long the upstream watch may fail to reach etcd before the stream
   * ends with `event: error` (so the reader reconnects) instead of sending heart-beats over nothing.
   */
  heartbeat?: number;
  /** Where to start when the request carries no `Last-Event-ID` (default: changes from now on). */
  startRevision?: number;
  /** Headers added to every answer (refusals included), such as `Access-Control-Allow-Origin`. */
  headers?: Headers | Record<string, string> | Array<[string, string]>;
  /** Reconnection delay suggested to `EventSource`, in whole milliseconds (1 000). */
  retry?: number;
  /**
   * Decides whether `request` may watch, before anything else happens: `true` lets it through;
   * a `Response` (a 401 with `WWW-Authenticate`, say) is the answer; anything else is a 403.
   * Without it, whoever reaches the URL may watch.
   */
  authorize?: (request: Request) => boolean | Response | undefined | Promise<boolean | Response | undefined>;
  /**
   * Bytes of events one client may have waiting (8 MiB; one event larger than that still goes
   * through alone). A client that falls that far behind is not disconnected: its watch is closed,
   * what etcd sends meanwhile is dropped, and the watch is reopened after the last event queued
   * once the client has read half of what waits. Nothing is lost or repeated, unless etcd
   * compacts the revisions meanwhile (then `event: compacted`).
   */
  maxBufferedBytes?: number;
  /**
   * The budget shared with other relays: bytes waiting over all their clients (64 MiB by default,
   * one pool per worker isolate or process). Past it, the client holding the most is
   * disconnected (its reader reconnects with its `Last-Event-ID` and loses nothing).
   */
  pool?: RelayPool;
  /**
   * An HMAC key (a string of 32 or more random characters; shorter is an `InvalidArgumentError`) that signs
   * every event id (`id: 12.1~<base64 HMAC>`). The relay then accepts as `Last-Event-ID` only an id
   * it wrote for these keys: a client resumes from where it was, never from a revision it picked,
   * and resumes survive a restart of the relay. Recommended; without it see `oldestResume`.
   */
  resumeSecret?: string;
  /**
   * The oldest revision a `Last-Event-ID` may make the relay replay from; older ones are refused
   * with `event: compacted` (`{ compactRevision, reason: 'resume-refused' }`) and the stream ends.
   * Default, with plain ids: the revision after the one at which the pool first served a watch
   * (so since the relay started, never its whole history), or `startRevision` if older. Default
   * with `resumeSecret`: no bound beyond the signature.
   */
  oldestResume?: number;
  /**
   * Clients of the same keys and options share one etcd watch per pool (true): each event is
   * encoded once for all of them, and recent events (see `RelayPool`'s `ringEvents`) serve resumes
   * without a new watch. False: each client has a watch of its own (the default in a Cloudflare
   * worker, where a request cannot use what another request opened).
   */
  shared?: boolean;
}

/**
 * Serves a watch as a `text/event-stream` answer to `request`: one SSE event per etcd event
 * (`event:` put or delete, `id:` its revision, `data:` the event as JSON), heart-beat comments,
 * and a resume from the request's `Last-Event-ID` header (or `lastEventId` query parameter) so
 * `EventSource`'s automatic reconnect loses and repeats nothing. Once etcd has created the
 * watch, `event: ready` (with `{ revision }`) says every later change will arrive. A compaction
 * past the resume point, or a resume from before what the relay allows (see `oldestResume`),
 * sends `event: compacted` with `{ compactRevision }` and ends the stream.
 *
 * Options are checked first: a bad one is an `InvalidArgumentError` (nothing is served). What the
 * request may have shaped (a `Last-Event-ID` that is no event id, the keys, `startRevision`) gets a
 * 400 whose JSON body is `{ "error": { "name": "InvalidArgumentError", "message": ... } }`.
 *
 * @example
 * ```ts
 * export default {
 *   fetch: (request, env) => relayWatch(Etcd.fromEnv(env), request, { prefix: 'dashboard/' }, { authorize: (req) => isSignedIn(req) }),
 * };
 * ```
 */
export async function relayWatch(etcd: Watchable, request: Request, selector: KeySelector, options: RelayOptions = {}): Promise<Response> {
  const checked = checkRelayOptions(options);
  if (checked.authorize !== undefined) {
    const verdict = await checked.authorize(request);
    if (verdict instanceof Response) return verdict;
    if (verdict !== true) return new Response('forbidden\n', { status: 403, headers: new Headers(checked.headers) });
  }
  const pool = checked.pool ?? defaultPool;
  const shared = checked.shared ?? !inEdgeWorker();
  let resume: ResumeDecision;
  let signer: IdSigner | undefined;
  try {
    // The keys and start revision are often built from the request: a bad one is its fault.
    checkWatchRequest(selector, options.startRevision);
    const scope = selectorKey(selector);
    signer = checked.resumeSecret === undefined ? undefined : shared ? pool.signer(checked.resumeSecret, scope) : new IdSigner(checked.resumeSecret, scope);
    const sent = request.headers.get('last-event-id') ?? new URL(request.url).searchParams.get('lastEventId');
    resume = await admitResume(sent, { pool, signer, oldest: checked.oldestResume, startRevision: options.startRevision });
  } catch (error) {
    if (error instanceof InvalidArgumentError) return badRequest(error, checked.headers);
    throw error;
  }
  if (typeof resume === 'number') {
    return new Response(`retry: ${checked.retry}\n${compactedEvent(resume, 'resume-refused')}`, { status: 200, headers: eventStreamHeaders(checked.headers) });
  }
  const sign = signer;
  const feed = new RelayFeed({
    etcd,
    selector,
    prevKv: checked.prevKv,
    ...resume,
    maxBytes: checked.maxBufferedBytes,
    pool,
    heartbeat: checked.heartbeat,
    retry: checked.retry,
    sign: sign ? (id) => sign.sign(id) : (id) => id,
    shared,
  });
  request.signal?.addEventListener('abort', () => feed.stop(), { once: true });
  return new Response(feed.body, { status: 200, headers: eventStreamHeaders(checked.headers) });
}

/** A 400 whose JSON body names the error: `{ "error": { "name": "InvalidArgumentError", "message": ... } }`. */
function badRequest(error: InvalidArgumentError, extra: Headers): Response {
  const headers = new Headers(extra);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', 'no-store');
  return new Response(JSON.stringify({ error: { name: error.name, message: error.message } }), { status: 400, headers });
}

function eventStreamHeaders(extra: Headers): Headers {
  const headers = new Headers(extra);
  headers.set('content-type', 'text/event-stream; charset=utf-8');
  headers.set('cache-control', 'no-cache, no-transform');
  headers.set('x-accel-buffering', 'no');
  return headers;
}

