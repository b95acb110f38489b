/**
 * etcd-fetch/admin: users and roles, membership, maintenance, and etcd's own lock and election services.
 *
 * @example
 * ```ts
 * import { Auth } from 'etcd-fetch/admin';  await new Auth(core).addUser('alice', password);
 * ```
 * @module etcd-fetch/admin
 */
export { Auth, type AuthStatus, type Permission, type PermissionType } from './auth.ts';
export { Cluster, type Member, type MemberList } from './cluster.ts';
export { Maintenance, type Alarm, type AlarmType, type HashKV, type MemberStatus, type MemberStatusReport } from './maintenance.ts';
export { memberEndpoint, resolveMember, type MemberCallOptions, type MemberRef, type MemberTarget } from './member-target.ts';
export type { MemberReport } from './cluster-status.ts';
export { snapshot, type SnapshotOptions, type SnapshotProgress } from './snapshot.ts';
export { GatewayLock, type GatewayLockOptions, type HeldLock } from './gateway-lock.ts';
export { GatewayElection, type CampaignOptions, type LeaderKey } from './gateway-election.ts';
