import { InvalidArgumentError } from '../core/errors.ts';
import type { KeySelector } from '../core/keyspace.ts';
import { inEdgeWorker } from '../core/runtime.ts';
import { compactedEvent, selectorKey } from './relay-event.ts';
import type { FeedOptions, Watchable } from './relay-feed.ts';
import { checkRelayOptions, checkWatchRequest, type RelayOptions } from './relay-options.ts';
import { defaultPool } from './relay-pool.ts';
import { admitResume, type ResumeDecision } from './resume-window.ts';
import { IdSigner } from './signed-ids.ts';

/** What admission needs of a request, whatever server it came through. */
export interface RelayRequestView {
  /** The `Last-Event-ID` header, else the `lastEventId` query parameter, else null. */
  lastEventId(): string | null;
  /** The request as fetch's `Request`, for `authorize` (made only when asked for). */
  request(): Request;
}

/** A client let through (how to feed it, and the headers of its answer), or the answer that refuses it. */
export type Admission = { feed: FeedOptions; headers: Headers } | { answer: Response };

/**
 * Everything `relayWatch` decides before it streams: options, `authorize`, the keys, and where the
 * client resumes. Shared by every way of serving a relay (a fetch `Response`, a node:http answer).
 */
export async function admitRelay(
  etcd: Watchable,
  view: RelayRequestView,
  selector: KeySelector,
  options: RelayOptions,
): Promise<Admission> {
  const checked = checkRelayOptions(options);
  if (checked.authorize !== undefined) {
    const verdict = await checked.authorize(view.request());
    if (verdict instanceof Response) return { answer: verdict };
    if (verdict !== true)
      return { answer: new Response('forbidden\n', { status: 403, headers: new Headers(checked.headers) }) };
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
    resume = await admitResume(view.lastEventId(), {
      pool,
      signer,
      oldest: checked.oldestResume,
      startRevision: options.startRevision,
    });
  } catch (error) {
    if (error instanceof InvalidArgumentError) return { answer: badRequest(error, checked.headers) };
    throw error;
  }
  const headers = eventStreamHeaders(checked.headers);
  if (typeof resume === 'number') {
    return {
      answer: new Response(`retry: ${checked.retry}\n${compactedEvent(resume, 'resume-refused')}`, { headers }),
    };
  }
  const sign = signer;
  const feed: FeedOptions = {
    etcd,
    selector,
    prevKv: checked.prevKv,
    ...resume,
    maxBytes: checked.maxBufferedBytes,
    pool,
    heartbeat: checked.heartbeat,
    retry: checked.retry,
    sign: sign ? (id) => sign.sign(id) : (id) => id,
    encode: sign ? (entry) => sign.message(entry) : (entry) => entry.plain,
    shared,
  };
  return { feed, headers };
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
