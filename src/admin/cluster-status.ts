// Asking every member at once (their status, their hash): each asked on its own endpoint, each
// answer or failure reported on its own, so one member down never fails the whole.

import type { CallOptions } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { EtcdError, NotFoundError, TimeoutError, UnavailableError } from '../core/errors.ts';
import { listMembers } from './member-target.ts';
import { Steps } from './steps.ts';

/**
 * One member's part of an answer from every member (`clusterStatus()`): its answer, or why it
 * could not be had.
 *
 * @example
 * for (const report of await clusterStatus(etcd)) {
 *   if (report.status) console.log(report.name, report.endpoint, report.status.raftIndex);
 *   else console.warn(report.name, report.endpoint, report.error.message);
 * }
 */
export type MemberReport<Answer> = {
  /** Member ID (a decimal string); empty when the member list could not be read. */
  id: string;
  /** Member name; empty until the member has started, or when the member list could not be read. */
  name: string;
  /** The client URL asked (empty for a member with none yet). */
  endpoint: string;
} & ({ status: Answer; error?: undefined } | { status?: undefined; error: EtcdError });

/**
 * Asks every member of the member list, each on its first client URL, all at once. When no
 * member can list the members, the client's own endpoints are asked instead.
 *
 * @example
 * const reports = await askEveryMember(etcd, (endpoint, options) => status(etcd, { ...options, member: endpoint }));
 */
export async function askEveryMember<Answer extends { header: { memberId: string } }>(
  client: Client,
  ask: (endpoint: string, options: CallOptions) => Promise<Answer>,
  options: CallOptions = {},
): Promise<MemberReport<Answer>[]> {
  const core = coreOf(client);
  // Listing, then asking: one deadline for both (a list that took it all leaves each ask a TimeoutError).
  const steps = new Steps(core.transport, options, 'asking every member');
  let targets: { id: string; name: string; endpoint: string }[];
  try {
    targets = (await listMembers(core, steps.next())).map((m) => ({
      id: m.id,
      name: m.name,
      endpoint: m.clientUrls[0] ?? '',
    }));
  } catch (error) {
    if (!(error instanceof UnavailableError || error instanceof TimeoutError)) throw error;
    targets = core.transport.endpoints.map((endpoint) => ({ id: '', name: '', endpoint }));
  }
  return Promise.all(
    targets.map(async (target): Promise<MemberReport<Answer>> => {
      if (target.endpoint === '') {
        return {
          ...target,
          error: new NotFoundError(`member ${target.id} has no client URL yet (it has not started)`, {
            path: '/v3/cluster/member/list',
          }),
        };
      }
      try {
        const status = await ask(target.endpoint, steps.next());
        return { ...target, id: target.id || status.header.memberId, status };
      } catch (error) {
        const explained = steps.explain(error);
        if (!(explained instanceof EtcdError)) throw explained;
        return { ...target, error: explained };
      }
    }),
  );
}
