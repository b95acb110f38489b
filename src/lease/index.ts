// etcd-fetch/lease: leases kept alive by one loop per client.
//   import { grant } from 'etcd-fetch/lease';  const lease = await grant(core, 10);
export { grant, keepAliveOnce, keptLeases, Lease, leases, revoke, timeToLive, type GrantOptions, type LeaseRef, type LeaseTimeToLive } from './lease.ts';
export { LeaseService } from './lease-service.ts';
