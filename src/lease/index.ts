/**
 * etcd-fetch/lease: leases kept alive by one loop per client.
 *
 * @example
 * ```ts
 * import { grant } from 'etcd-fetch/lease';  const lease = await grant(core, 10);
 * ```
 * @module etcd-fetch/lease
 */
export {
  type GrantOptions,
  grant,
  keepAliveOnce,
  keptLeases,
  Lease,
  type LeaseRef,
  type LeaseTimeToLive,
  leases,
  revoke,
  timeToLive,
} from './lease.ts';
