import { InvalidArgumentError } from '../core/errors.ts';
import type { KeySelector } from '../core/keyspace.ts';
import { inEdgeWorker } from '../core/runtime.ts';
import { compactedEvent, selectorKey } from './relay-event.ts';
import { RelayFeed, type Watchable } from './relay-feed.ts';
import { checkRelayOptions, checkWatchRequest, type RelayOptions } from './relay-options.ts';
import { defaultPool } from './relay-pool.ts';
import { admitResume, type ResumeDecision } from './resume-window.ts';
import { IdSigner } from './signed-ids.ts';

export type { Watchable } from './relay-feed.ts';
export type { RelayOptions } from './relay-options.ts';

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
 *   fetch: (request, env) => relayWatch(new Etcd(optionsFromEnv(env)), request, { prefix: 'dashboard/' }, { authorize: (req) => isSignedIn(req) }),
 * };
 * ```
 */
export async function relayWatch(
  etcd: Watchable,
  request: Request,
  selector: KeySelector,
  options: RelayOptions = {},
): Promise<Response> {
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
    signer =
      checked.resumeSecret === undefined
        ? undefined
        : shared
          ? pool.signer(checked.resumeSecret, scope)
          : new IdSigner(checked.resumeSecret, scope);
    const sent = request.headers.get('last-event-id') ?? new URL(request.url).searchParams.get('lastEventId');
    resume = await admitResume(sent, {
      pool,
      signer,
      oldest: checked.oldestResume,
      startRevision: options.startRevision,
    });
  } catch (error) {
    if (error instanceof InvalidArgumentError) return badRequest(error, checked.headers);
    throw error;
  }
  if (typeof resume === 'number') {
    return new Response(`retry: ${checked.retry}\n${compactedEvent(resume, 'resume-refused')}`, {
      status: 200,
      headers: eventStreamHeaders(checked.headers),
    });
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
  return new Response(JSON.stringify({ error: { name: error.name, message: error.message } }), {
    status: 400,
    headers,
  });
}

function eventStreamHeaders(extra: Headers): Headers {
  const headers = new Headers(extra);
  headers.set('content-type', 'text/event-stream; charset=utf-8');
  headers.set('cache-control', 'no-cache, no-transform');
  headers.set('x-accel-buffering', 'no');
  return headers;
}
