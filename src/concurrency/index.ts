/**
 * etcd-fetch/concurrency: sessions, fair locks with fencing, elections (Go's concurrency package).
 *
 * @example
 * ```ts
 * import { lock } from 'etcd-fetch/concurrency';  await using held = await lock(core, 'jobs');
 * ```
 * @module etcd-fetch/concurrency
 */
export { session, Session, type SessionOptions } from './session.ts';
export { lock, Lock, tryLock, type LockOptions } from './lock.ts';
export { election, Election, Leadership, NotLeaderError, type CampaignOptions as ElectionCampaignOptions } from './election.ts';
export { stm, StmConflictError, type Isolation, type StmCommit, type StmOptions, type StmTx } from './stm.ts';
