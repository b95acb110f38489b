import type { CallOptions } from '../core/call-options.ts';
import { decodeId, decodeInt } from '../core/codec.ts';
import { Deadline } from '../core/deadline.ts';
import { MalformedResponseError, UnauthenticatedError } from '../core/errors.ts';
import { readJsonLines } from '../core/lines.ts';
import { streamResult } from '../core/stream-message.ts';
import type { Transport } from '../core/transport.ts';
import { keepAliveBody } from './keep-alive-body.ts';

const ROUTE = '/lease/keepalive';
const PATH = `/v3${ROUTE}`;

/** What one keep-alive request got: an answer per lease etcd answered for, and why it ended early. */
export interface KeepAliveAnswers {
  /** TTL in seconds per lease answered (0 or less: etcd no longer knows it). */
  readonly ttls: Map<string, number>;
  /** Why the answer ended before every lease was answered (undefined: it simply ended). */
  readonly error: unknown;
  /** When the request was sent (performance.now() ms): etcd restarted each TTL after that. */
  readonly sentAt: number;
}

/**
 * Sends one `/v3/lease/keepalive` request for `ids` and keeps every complete answer line it
 * receives, even when the answer then ends early, breaks off or carries an error: never throws.
 * etcd 3.4's gateway may answer only the first part of a body (see keep-alive-body.ts), so the
 * caller asks again for what is missing. It carries the client's token: since the
 * CVE-2026-33413 fix etcd refuses an anonymous keep-alive while auth is on. A token etcd rejects
 * before any answer is renewed once and the request sent again.
 */
export async function keepAliveRequest(
  transport: Transport,
  ids: readonly string[],
  options: CallOptions,
): Promise<KeepAliveAnswers> {
  const deadline = new Deadline(options.timeout ?? transport.timeout, options.signal);
  const ttls = new Map<string, number>();
  const sentAt = performance.now();
  try {
    const body = keepAliveBody(ids);
    const wanted = new Set(ids);
    for (let renewedToken = false; ; renewedToken = true) {
      // Set once the stream opened: openStream renews a token refused before that itself.
      let opened: Awaited<ReturnType<Transport['openStream']>> | undefined;
      try {
        opened = await transport.openStream(ROUTE, body, { signal: deadline.signal });
        const others: string[] = [];
        for await (const line of readJsonLines(opened.response.body!)) {
          const result = streamResult(line, opened.endpoint, PATH);
          const id = decodeId(result.ID, 'ID');
          // An answer for a lease not asked about is no answer for ours: note it, read on.
          if (wanted.has(id)) ttls.set(id, decodeInt(result.TTL, 'TTL'));
          else others.push(id);
          if (ttls.size === wanted.size) break;
        }
        if (ttls.size === wanted.size) return { ttls, error: undefined, sentAt };
        return { ttls, error: unanswered(ids, ttls, others, opened.endpoint), sentAt };
      } catch (error) {
        if (
          error instanceof UnauthenticatedError &&
          opened !== undefined &&
          ttls.size === 0 &&
          !renewedToken &&
          transport.tokenSource?.invalidate(opened.token)
        )
          continue;
        return { ttls, error: deadline.explain(error, PATH), sentAt };
      }
    }
  } finally {
    deadline.dispose();
  }
}

/**
 * Refreshes `ids` once, asking again for those an answer left out while each request brings at
 * least one answer; answers each ID's TTL in seconds (0: the lease is gone) in the order given.
 */
export async function keepAlive(transport: Transport, ids: readonly string[], options: CallOptions): Promise<number[]> {
  const deadline = new Deadline(options.timeout ?? transport.timeout, options.signal);
  try {
    const ttls = new Map<string, number>();
    let missing = [...new Set(ids)];
    while (missing.length > 0) {
      const answers = await keepAliveRequest(transport, missing, {
        signal: deadline.signal,
        timeout: deadline.remaining(),
      });
      for (const [id, ttl] of answers.ttls) ttls.set(id, ttl);
      // An answer cut short is asked again for the rest while it brings something.
      if (answers.error !== undefined && (answers.ttls.size === 0 || deadline.aborted)) throw answers.error;
      missing = missing.filter((id) => !ttls.has(id));
    }
    return ids.map((id) => ttls.get(id)!);
  } catch (error) {
    throw deadline.explain(error, PATH);
  } finally {
    deadline.dispose();
  }
}

/** The error of an answer that ended without answering for every lease asked about. */
function unanswered(
  ids: readonly string[],
  ttls: Map<string, number>,
  others: string[],
  endpoint: string,
): MalformedResponseError {
  const missing = ids.filter((id) => !ttls.has(id));
  const listed =
    missing.length > 10 ? `${missing.slice(0, 10).join(', ')} and ${missing.length - 10} more` : missing.join(', ');
  const extra = others.length > 0 ? `; it answered for lease ${others.slice(0, 10).join(', ')}, not asked about` : '';
  return new MalformedResponseError(`keep-alive got no answer for lease ${listed}${extra}`, { endpoint, path: PATH });
}
