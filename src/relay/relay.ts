import type { KeySelector } from '../core/keyspace.ts';
import { admitRelay } from './relay-admission.ts';
import { RelayFeed, type Watchable } from './relay-feed.ts';
import type { RelayOptions } from './relay-options.ts';

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
  const view = {
    lastEventId: () => request.headers.get('last-event-id') ?? new URL(request.url).searchParams.get('lastEventId'),
    request: () => request,
  };
  const admitted = await admitRelay(etcd, view, selector, options);
  if ('answer' in admitted) return admitted.answer;
  const feed = new RelayFeed(admitted.feed);
  request.signal?.addEventListener('abort', () => feed.stop(), { once: true });
  return new Response(feed.body, { status: 200, headers: admitted.headers });
}
