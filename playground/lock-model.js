// Which keys are locks and elections: the recipes of etcd-fetch (src/concurrency) and of Go's
// `concurrency` package keep a queue under `name/`, one key per session, `name/<lease ID in hex>`,
// attached to that lease; the oldest key (lowest create revision) holds the lock or leads.
// Locks write empty values, candidates their campaign value: a queue with a value is an election.
import { keyLabel } from './dom.js';

const SLASH = 0x2f;

/** The queue name of a recipe key (`name` of `name/<lease hex>`), or undefined when it is not one. */
export function queueName(kv) {
  if (!kv.lease || kv.lease === '0') return undefined;
  const slash = kv.key.lastIndexOf(SLASH);
  if (slash <= 0) return undefined;
  const suffix = keyLabel(kv.key.subarray(slash + 1));
  let lease;
  try {
    lease = BigInt(kv.lease).toString(16);
  } catch {
    return undefined;
  }
  return suffix === lease ? keyLabel(kv.key.subarray(0, slash)) : undefined;
}

/**
 * The locks and elections among `kvs`: `{ kind: 'lock'|'election', name, queue }`, each queue
 * oldest first (`queue[0]` holds or leads; the others wait in that order), sorted by name.
 */
export function findQueues(kvs) {
  const byName = new Map();
  for (const kv of kvs) {
    const name = queueName(kv);
    if (name === undefined) continue;
    let queue = byName.get(name);
    if (!queue) byName.set(name, (queue = []));
    queue.push(kv);
  }
  return [...byName]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, queue]) => {
      queue.sort((a, b) => a.createRevision - b.createRevision);
      return { kind: queue.some((kv) => kv.value.length > 0) ? 'election' : 'lock', name, queue };
    });
}
