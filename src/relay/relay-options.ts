import { checkCount, describe } from '../core/codec.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { Keyspace, type KeySelector } from '../core/keyspace.ts';
import { RelayPool } from './relay-pool.ts';
import type { RelayOptions } from './relay.ts';

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
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`relayWatch options must be an object, got ${describe(options)}`);
  const { heartbeat = 15_000, retry = 1_000, maxBufferedBytes = 8 * 1024 * 1024 } = options;
  if (typeof heartbeat !== 'number' || !(heartbeat >= MIN_HEARTBEAT && heartbeat <= MAX_DELAY)) {
    throw new InvalidArgumentError(`heartbeat must be a number of milliseconds from ${MIN_HEARTBEAT} to 2^31 - 1, got ${describe(heartbeat)}`);
  }
  if (!Number.isSafeInteger(retry) || retry < 0 || retry > MAX_DELAY) {
    throw new InvalidArgumentError(`retry must be an integer number of milliseconds from 0 to 2^31 - 1, got ${describe(retry)}`);
  }
  if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 1) {
    throw new InvalidArgumentError(`maxBufferedBytes must be a positive integer, got ${describe(maxBufferedBytes)}`);
  }
  const { resumeSecret, oldestResume } = options;
  // The secret is never quoted: only its type and length.
  if (resumeSecret !== undefined && (typeof resumeSecret !== 'string' || resumeSecret.length < MIN_SECRET_LENGTH)) {
    const what = typeof resumeSecret === 'string' ? `${resumeSecret.length} characters` : typeof resumeSecret;
    throw new InvalidArgumentError(`resumeSecret must be a string of ${MIN_SECRET_LENGTH} or more random characters, got ${what}`);
  }
  if (oldestResume !== undefined) checkCount(oldestResume, 'oldestResume');
  for (const name of ['prevKv', 'shared'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean, got ${describe(options[name])}`);
  }
  if (options.authorize !== undefined && typeof options.authorize !== 'function') {
    throw new InvalidArgumentError(`authorize must be a function, got ${describe(options.authorize)}`);
  }
  if (options.pool !== undefined && !(options.pool instanceof RelayPool)) throw new InvalidArgumentError(`pool must be a RelayPool, got ${describe(options.pool)}`);
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
  if (headers !== undefined && (typeof headers !== 'object' || headers === null)) throw new InvalidArgumentError(`headers must be Headers, an object or pairs, got ${describe(headers)}`);
  try {
    return new Headers(headers);
  } catch {
    // Not quoted: a header may hold a key.
    throw new InvalidArgumentError('headers must be valid HTTP headers: a name or value holds a character HTTP forbids (a line break, say)');
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
