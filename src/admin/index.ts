/**
 * etcd-fetch/admin: users and roles, membership, maintenance, and etcd's own lock and election services.
 *
 * @example
 * ```ts
 * import { userAdd } from 'etcd-fetch/admin';  await userAdd(core, 'alice', password);
 * ```
 * @module etcd-fetch/admin
 */
export {
  type AuthStatus,
  authDisable,
  authEnable,
  authenticate,
  authStatus,
  type Permission,
  type PermissionType,
  roleAdd,
  roleDelete,
  roleGet,
  roleGrantPermission,
  roleList,
  roleRevokePermission,
  userAdd,
  userChangePassword,
  userDelete,
  userGet,
  userGrantRole,
  userList,
  userRevokeRole,
} from './auth.ts';
export {
  type Member,
  type MemberList,
  memberAdd,
  memberList,
  memberPromote,
  memberRemove,
  memberUpdate,
} from './cluster.ts';
export type { MemberReport } from './cluster-status.ts';
export { type DowngradeAction, type DowngradeResult, downgrade } from './downgrade.ts';
export {
  type GatewayCampaignOptions,
  type GatewayLeaderKey,
  gatewayCampaign,
  gatewayLeader,
  gatewayObserve,
  gatewayProclaim,
  gatewayResign,
} from './gateway-election.ts';
export { type GatewayLockKey, type GatewayLockOptions, gatewayLock, gatewayUnlock } from './gateway-lock.ts';
export {
  type Alarm,
  type AlarmType,
  alarmDisarm,
  alarmList,
  clusterStatus,
  type DowngradeInfo,
  defragment,
  type HashKV,
  hash,
  hashKV,
  type MemberStatus,
  type MemberStatusReport,
  moveLeader,
  status,
} from './maintenance.ts';
export {
  type MemberCallOptions,
  type MemberRef,
  type MemberTarget,
  memberEndpoint,
  resolveMember,
} from './member-target.ts';
export { type SnapshotOptions, type SnapshotProgress, snapshot } from './snapshot.ts';
