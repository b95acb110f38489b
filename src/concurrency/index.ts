/**
 * etcd-fetch/concurrency: sessions, fair locks with fencing, elections (Go's concurrency package).
 *
 * @example
 * ```ts
 * import { lock } from 'etcd-fetch/concurrency';  await using held = await lock(core, 'jobs');
 * ```
 * @module etcd-fetch/concurrency
 */

export { NotLeaderError, StmConflictError } from '../core/errors.ts';
export { type CampaignOptions, Election, election, Leadership } from './election.ts';
export { Lock, type LockOptions, lock, tryLock } from './lock.ts';
export { Session, type SessionOptions, session } from './session.ts';
export { type Isolation, type StmCommit, type StmOptions, type StmTx, stm } from './stm.ts';
