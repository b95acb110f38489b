// A live feed of changes under a prefix: a watch on etcd, or, in relay mode, the playground
// server's SSE relay (src/relay) read with `subscribe`. Events come in batches (one per
// response), and the state says whether they are flowing.
import { subscribe, WatchCompactedError } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { utf8 } from './dom.js';

/**
 * @param options.prefix key prefix (string or bytes)
 * @param options.startRevision first revision to deliver (undefined: from now)
 * @param options.onEvents(events, revision) a batch of events
 * @param options.onState('starting' | 'live' | 'reconnecting' | 'error', detail)
 * @param options.onCompacted(error) the start revision is gone (re-read, then open a new feed)
 */
export function openFeed({ prefix, startRevision, onEvents, onState = () => {}, onCompacted }) {
  const controller = new AbortController();
  const { signal } = controller;
  const fail = (error) => {
    if (signal.aborted) return;
    if (error instanceof WatchCompactedError && onCompacted) onCompacted(error);
    else onState('error', error);
  };
  const run = session.relay ? relayFeed : etcdFeed;
  // Started on the next microtask, so the caller holds the feed before its first state.
  Promise.resolve()
    .then(() => {
      onState('starting');
      return run({ prefix, startRevision, onEvents, onState, signal });
    })
    .catch(fail);
  return { close: () => controller.abort() };
}

async function etcdFeed({ prefix, startRevision, onEvents, onState, signal }) {
  const watch = session.etcd.watch({
    prefix,
    ...(startRevision ? { startRevision } : {}),
    signal,
    onReconnect: (info) => onState('reconnecting', info),
  });
  await watch.ready;
  onState('live');
  for await (const response of watch.responses()) {
    if (signal.aborted) return;
    if (response.events.length > 0) onEvents(response.events, response.revision);
    onState('live', response.revision);
  }
}

async function relayFeed({ prefix, startRevision, onEvents, onState, signal }) {
  const bytes = typeof prefix === 'string' ? utf8(prefix) : prefix;
  const url = new URL('/relay', location.href);
  url.searchParams.set('prefix', btoa(String.fromCharCode(...bytes)));
  if (startRevision) url.searchParams.set('startRevision', String(startRevision));
  const events = subscribe(url, {
    signal,
    onReady: () => onState('live'),
    onReconnect: (info) => onState('reconnecting', info),
  });
  for await (const event of events) {
    if (signal.aborted) return;
    onEvents([event], event.revision);
  }
}
