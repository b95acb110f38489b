import { TimeoutError, UnavailableError } from '../core/errors.ts';
import type { Transport } from '../core/transport.ts';

/** Milliseconds of silence on a watch stream after which its member is probed. */
export const PROBE_AFTER_MS = 10_000;
/** How long the member has to answer the probe. */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * Whether the member behind a silent watch stream still serves: a linearizable count of one
 * watched key, sent to that member alone (on another connection) with a short deadline. etcd
 * sends nothing on an idle watch, so silence alone proves nothing; but a linearizable read needs
 * the member to run and to reach a quorum, so a frozen, half-dead or cut-off member fails it while
 * an idle, healthy one answers at once. No server flag is needed (unlike progress notifications).
 * Resolves to the error that shows the member does not serve, or undefined.
 */
export async function probeMember(
  transport: Transport,
  endpoint: string,
  key: string,
  signal: AbortSignal,
): Promise<UnavailableError | undefined> {
  try {
    await transport.request('/kv/range', { key, count_only: true }, { endpoint, timeout: PROBE_TIMEOUT_MS, signal });
    return undefined;
  } catch (error) {
    // Anything else (a permission refused, the stream closing meanwhile) says nothing against it.
    if (!(error instanceof TimeoutError || error instanceof UnavailableError)) return undefined;
    return new UnavailableError(
      `the watch stream was silent for ${PROBE_AFTER_MS} ms and its member did not answer a probe within ${PROBE_TIMEOUT_MS} ms (${error.message}): moving to another member`,
      { endpoint, path: '/v3/watch' },
    );
  }
}
