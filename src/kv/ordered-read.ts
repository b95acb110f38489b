// Reads that never go back in time: the check of a KV answer's revision against the highest one
// the client has seen (core/ordering.ts), and what to do when a lagging member answered.

import type { WireObject } from '../core/call-options.ts';
import type { Core } from '../core/client-core.ts';
import { StaleReadError, TimeoutError, UnavailableError } from '../core/errors.ts';
import type { RequestOptions } from '../core/transport.ts';

/** The revision in an answer's header (0 when absent: etcd omits zero values). */
export function revisionOf(wire: WireObject): number {
  const header = wire.header as { revision?: unknown } | undefined;
  const revision = Number(header?.revision ?? 0);
  return Number.isSafeInteger(revision) ? revision : 0;
}

/** Notes a write's (or a linearizable read's) revision, which cannot be stale. */
export function observeRevision(core: Core, wire: WireObject, floorAtStart: number): void {
  core.revisions?.observe(revisionOf(wire), true, floorAtStart);
}

/**
 * The answer of a read that may have been served by a lagging member (`serializable`), checked
 * against the revision floor as it was when the read started (a write that finished meanwhile
 * may be newer than a read sent before it, and that is no violation). A stale answer is asked
 * again of every endpoint in turn, each once; members that answer stale are moved away from.
 * When none answers from a recent enough revision, `StaleReadError`.
 */
export async function orderedRead(
  core: Core,
  wire: WireObject,
  floorAtStart: number,
  serializable: boolean,
  route: string,
  request: WireObject,
  options: RequestOptions,
): Promise<WireObject> {
  const floor = core.revisions;
  if (floor === undefined) return wire;
  let revision = revisionOf(wire);
  if (!serializable || revision >= floorAtStart) {
    floor.observe(revision, !serializable, floorAtStart);
    return wire;
  }
  let stalest = revision;
  let lastError: unknown;
  const { transport } = core;
  for (const endpoint of [...transport.endpoints]) {
    let answer: WireObject;
    try {
      answer = await transport.request(route, request, { ...options, endpoint, idempotent: true });
    } catch (error) {
      // A member that is down or does not answer: the next one may. Any other failure is the read's own.
      if (!(error instanceof UnavailableError || error instanceof TimeoutError)) throw error;
      lastError = error;
      continue;
    }
    revision = revisionOf(answer);
    if (revision >= floorAtStart) {
      floor.observe(revision, false, floorAtStart);
      return answer;
    }
    stalest = Math.min(stalest, revision);
    transport.failedOver(endpoint);
  }
  throw new StaleReadError(
    `/v3${route}: every answer (revision ${stalest}) was older than revision ${floorAtStart}, already seen`,
    floorAtStart,
    stalest,
    { path: `/v3${route}`, cause: lastError },
  );
}
