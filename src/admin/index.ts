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
export type { MemberReport } from './cluster-status.ts';
export { type DowngradeAction, type DowngradeResult, downgrade } from './downgrade.ts';
export { type CampaignOptions, GatewayElection, type LeaderKey } from './gateway-election.ts';
export { GatewayLock, type GatewayLockOptions, type HeldLock } from './gateway-lock.ts';
export {
  type Alarm,
  type AlarmType,
  type DowngradeInfo,
  type HashKV,
  Maintenance,
  type MemberStatus,
  type MemberStatusReport,
} from './maintenance.ts';
export {
  type MemberCallOptions,
  type MemberRef,
  type MemberTarget,
  memberEndpoint,
  resolveMember,
} from './member-target.ts';
export { type SnapshotOptions, type SnapshotProgress, snapshot } from './snapshot.ts';
