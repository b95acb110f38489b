import type { KeySelector } from '../core/keyspace.ts';
import { admitRelay } from './relay-admission.ts';
import { RelayFeed, type Watchable } from './relay-feed.ts';
import type { RelayOptions } from './relay-options.ts';

/**
 * What `relayWatchNode` reads of a node:http request (an `IncomingMessage` fits).
 *
 * @example
 * ```ts
 * const request: NodeRequestLike = { method: 'GET', url: '/events', headers: { 'last-event-id': '42' } };
 * ```
 */
export interface NodeRequestLike {
  readonly url?: string | undefined;
  readonly method?: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * What `relayWatchNode` uses of a node:http answer (a `ServerResponse` fits).
 *
 * @example
 * ```ts
 * createServer((request, response) => relayWatchNode(etcd, request, response, { prefix: 'feeds/' }));
 * ```
 */
export interface NodeResponseLike {
  /** Sends the status line and headers. */
  writeHead(status: number, headers: Record<string, string>): unknown;
  /** False when the socket's buffer is full (`drain` follows). */
  write(chunk: Uint8Array): boolean;
  /** Ends the answer, after an optional last chunk. */
  end(chunk?: Uint8Array): unknown;
  /** Closes the socket at once. */
  destroy(): unknown;
  /** `close`: the reader went away; `drain`: the socket takes writes again. */
  on(event: 'close' | 'drain', listener: () => void): unknown;
}

/**
 * `relayWatch` answering a node:http request directly: the same events, ids, resumes and bounds,
 * but each event is encoded once for all the clients of a shared watch and written as bytes
 * straight to each socket (several waiting events as one write), with no Web stream, `Request` or
 * `Response` per client. For Node servers holding thousands of subscribers; the answer is
 * written whole (refusals included) by the time the promise resolves, or streams from then on.
 * `authorize` still gets a fetch `Request` (made only for it, without a body).
 *
 * @example
 * ```ts
 * createServer((req, res) => void relayWatchNode(etcd, req, res, { prefix: 'dashboard/' }, { pool, resumeSecret })).listen(8080);
 * ```
 */
export async function relayWatchNode(
  etcd: Watchable,
  request: NodeRequestLike,
  response: NodeResponseLike,
  selector: KeySelector,
  options: RelayOptions = {},
): Promise<void> {
  // Never rejects: the caller writes `void relayWatchNode(...)`, and nothing a request carries
  // (a Host header no URL takes, an `authorize` that throws) may become an unhandled rejection.
  let answered = false;
  try {
    await serve(etcd, request, response, selector, options, () => {
      answered = true;
    });
  } catch (error) {
    if (answered) response.destroy();
    else {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      const body = new TextEncoder().encode(`${JSON.stringify({ error: { name, message } })}\n`);
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(body);
    }
  }
}

async function serve(
  etcd: Watchable,
  request: NodeRequestLike,
  response: NodeResponseLike,
  selector: KeySelector,
  options: RelayOptions,
  answering: () => void,
): Promise<void> {
  let gone = false;
  let feed: RelayFeed | undefined;
  response.on('close', () => {
    gone = true;
    feed?.stop();
  });
  const url = requestUrl(request);
  const view = {
    lastEventId: () => headerOf(request, 'last-event-id') ?? url.searchParams.get('lastEventId'),
    request: () => new Request(url, { method: 'GET', headers: fetchHeaders(request) }),
  };
  const admitted = await admitRelay(etcd, view, selector, options);
  if ('answer' in admitted) {
    const { answer } = admitted;
    const body = new Uint8Array(await answer.arrayBuffer());
    answering();
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    response.end(body);
    return;
  }
  if (gone) return;
  answering();
  response.writeHead(200, Object.fromEntries(admitted.headers));
  const opened = new RelayFeed(admitted.feed, {
    write: (bytes) => response.write(bytes),
    end: () => response.end(),
    destroy: () => response.destroy(),
  });
  feed = opened;
  response.on('drain', () => opened.drained());
  opened.begin();
}

/** The request's URL; a Host header no URL takes (`a b`, `[`) falls back to a placeholder host. */
function requestUrl(request: NodeRequestLike): URL {
  const path = request.url ?? '/';
  for (const host of [headerOf(request, 'host'), 'relay.invalid']) {
    try {
      return new URL(path, `http://${host ?? 'relay.invalid'}`);
    } catch {
      // Not a host a URL takes: the next one.
    }
  }
  return new URL('http://relay.invalid/');
}

function headerOf(request: NodeRequestLike, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The request's headers as fetch `Headers`; one fetch cannot carry is dropped. */
function fetchHeaders(request: NodeRequestLike): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      try {
        headers.append(name, one);
      } catch {
        // Not a valid fetch header: dropped.
      }
    }
  }
  return headers;
}
