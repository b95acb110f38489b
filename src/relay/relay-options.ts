import { checkCount, describe } from '../core/codec.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { type KeySelector, Keyspace } from '../core/keyspace.ts';
import { RelayPool } from './relay-pool.ts';

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

/** Fewest milliseconds between heart-beats: a proxy's idle timeout is seconds, never less. */
export const MIN_HEARTBEAT = 1_000;
/** Longest wait a timer can hold (2^31 - 1 ms). */
const MAX_DELAY = 2 ** 31 - 1;
/** Fewest characters of a `resumeSecret`. */
export const MIN_SECRET_LENGTH = 32;

/** `relayWatch`'s options once checked: what the relay writes into a stream is only ever these. */
export interface CheckedRelayOptions {
  prevKv: boolean;
  heartbeat: number;
  retry: number;
  headers: Headers;
  authorize: RelayOptions['authorize'];
  maxBufferedBytes: number;
  pool: RelayPool | undefined;
  resumeSecret: string | undefined;
  oldestResume: number | undefined;
  shared: boolean | undefined;
}

/** Checks every option of `relayWatch` (the caller's configuration): an `InvalidArgumentError` names the first bad one. */
export function checkRelayOptions(options: RelayOptions): CheckedRelayOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(`relayWatch options must be an object, got ${describe(options)}`);
  const { heartbeat = 15_000, retry = 1_000, maxBufferedBytes = 8 * 1024 * 1024 } = options;
  if (typeof heartbeat !== 'number' || !(heartbeat >= MIN_HEARTBEAT && heartbeat <= MAX_DELAY)) {
    throw new InvalidArgumentError(
      `heartbeat must be a number of milliseconds from ${MIN_HEARTBEAT} to 2^31 - 1, got ${describe(heartbeat)}`,
    );
  }
  if (!Number.isSafeInteger(retry) || retry < 0 || retry > MAX_DELAY) {
    throw new InvalidArgumentError(
      `retry must be an integer number of milliseconds from 0 to 2^31 - 1, got ${describe(retry)}`,
    );
  }
  if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 1) {
    throw new InvalidArgumentError(`maxBufferedBytes must be a positive integer, got ${describe(maxBufferedBytes)}`);
  }
  const { resumeSecret, oldestResume } = options;
  // The secret is never quoted: only its type and length.
  if (resumeSecret !== undefined && (typeof resumeSecret !== 'string' || resumeSecret.length < MIN_SECRET_LENGTH)) {
    const what = typeof resumeSecret === 'string' ? `${resumeSecret.length} characters` : typeof resumeSecret;
    throw new InvalidArgumentError(
      `resumeSecret must be a string of ${MIN_SECRET_LENGTH} or more random characters, got ${what}`,
    );
  }
  if (oldestResume !== undefined) checkCount(oldestResume, 'oldestResume');
  for (const name of ['prevKv', 'shared'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean')
      throw new InvalidArgumentError(`${name} must be a boolean, got ${describe(options[name])}`);
  }
  if (options.authorize !== undefined && typeof options.authorize !== 'function') {
    throw new InvalidArgumentError(`authorize must be a function, got ${describe(options.authorize)}`);
  }
  if (options.pool !== undefined && !(options.pool instanceof RelayPool))
    throw new InvalidArgumentError(`pool must be a RelayPool, got ${describe(options.pool)}`);
  return {
    prevKv: options.prevKv === true,
    heartbeat,
    retry,
    headers: checkHeaders(options.headers),
    authorize: options.authorize,
    maxBufferedBytes,
    pool: options.pool,
    resumeSecret,
    oldestResume,
    shared: options.shared,
  };
}

function checkHeaders(headers: RelayOptions['headers']): Headers {
  if (headers !== undefined && (typeof headers !== 'object' || headers === null))
    throw new InvalidArgumentError(`headers must be Headers, an object or pairs, got ${describe(headers)}`);
  try {
    return new Headers(headers);
  } catch {
    // Not quoted: a header may hold a key.
    throw new InvalidArgumentError(
      'headers must be valid HTTP headers: a name or value holds a character HTTP forbids (a line break, say)',
    );
  }
}

/**
 * Checks what the request may have shaped (the keys, the start revision): an error here is the
 * request's fault, answered with a 400.
 */
export function checkWatchRequest(selector: KeySelector, startRevision: unknown): void {
  new Keyspace().encode(selector);
  if (startRevision !== undefined) checkCount(startRevision, 'startRevision');
}
