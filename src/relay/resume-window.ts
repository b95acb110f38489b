import { parseEventId, trimHttp } from './relay-event.ts';
import type { RelayPool } from './relay-pool.ts';
import type { IdSigner } from './signed-ids.ts';

/** Where a client's watch starts, or (a number) the oldest revision it may resume from (0: unknown): a refusal. */
export type ResumeDecision =
  | { startRevision: number | undefined; skip: number; resumedAfter: string | undefined }
  | number;

export interface ResumeRules {
  pool: RelayPool;
  signer: IdSigner | undefined;
  /** The relay's `oldestResume` option. */
  oldest: number | undefined;
  /** The relay's `startRevision` option: where a client without `Last-Event-ID` starts. */
  startRevision: number | undefined;
}

/**
 * Decides how far back the `Last-Event-ID` a client sent (`sent`) may take it. With signed ids,
 * only an id this relay wrote for these keys is accepted (and `oldest`, when set). With plain
 * ids, the resume may not start before `oldest`, which defaults to the revision after the one at
 * which the pool first served a watch (nothing is accepted before it has), or the relay's own
 * `startRevision` when that is older. A client without an id starts at `startRevision` (or now).
 * A plain id that is not an event id (or one past 2^53 - 1) is an `InvalidArgumentError`.
 */
export async function admitResume(sent: string | null, rules: ResumeRules): Promise<ResumeDecision> {
  const fresh = { startRevision: rules.startRevision, skip: 0, resumedAfter: undefined };
  if (sent === null || trimHttp(sent) === '') return fresh;
  let id = trimHttp(sent);
  if (rules.signer) {
    const verified = await rules.signer.verify(id);
    // Not an id this relay signed for these keys: refused, as one from too far back.
    if (verified === undefined) return rules.oldest ?? 0;
    id = verified;
  }
  // Not an event id at all (or one past 2^53 - 1): InvalidArgumentError, answered with a 400.
  const point = parseEventId(id);
  const oldest = rules.oldest ?? (rules.signer ? 0 : oldestPlain(rules));
  // Infinity: the pool has served no watch yet, so it knows no safe point (reported as 0).
  return point.startRevision < oldest ? (oldest === Infinity ? 0 : oldest) : { ...point, resumedAfter: id };
}

function oldestPlain(rules: ResumeRules): number {
  const floor = rules.pool.firstRevision === undefined ? Infinity : rules.pool.firstRevision + 1;
  return Math.min(floor, rules.startRevision ?? Infinity);
}
