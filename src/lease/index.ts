/**
 * etcd-fetch/lease: leases kept alive by one loop per client.
 *
 * @example
 * ```ts
 * import { grant } from 'etcd-fetch/lease';  const lease = await grant(core, 10);
 * ```
 * @module etcd-fetch/lease
 */
export { grant, keepAliveOnce, keptLeases, Lease, leases, revoke, timeToLive, type GrantOptions, type LeaseRef, type LeaseTimeToLive } from './lease.ts';
export { LeaseService } from './lease-service.ts';
