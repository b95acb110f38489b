/**
 * etcd-fetch/concurrency: sessions, fair locks with fencing, elections (Go's concurrency package).
 *
 * @example
 * ```ts
 * import { lock } from 'etcd-fetch/concurrency';  await using held = await lock(core, 'jobs');
 * ```
 * @module etcd-fetch/concurrency
 */

export { DoubleBarrierFullError, NotLeaderError, StmConflictError } from '../core/errors.ts';
export { Barrier, barrier } from './barrier.ts';
export { DoubleBarrier, type DoubleBarrierOptions, doubleBarrier } from './double-barrier.ts';
export { type CampaignOptions, Election, election, Leadership } from './election.ts';
export { Lock, type LockOptions, lock, tryLock } from './lock.ts';
export { PriorityQueue, priorityQueue } from './priority-queue.ts';
export { RWLock, RWMutex, type RWMutexOptions, rwMutex } from './rw-mutex.ts';
export { Session, type SessionOptions, session } from './session.ts';
export { type Isolation, type StmCommit, type StmOptions, type StmTx, stm } from './stm.ts';
export { WorkQueue, workQueue } from './work-queue.ts';
