// A prefix as it was at one revision (keys only: key, create and mod revision, version, lease),
// read in pages all at that revision, and the difference of two such snapshots.
import { compareBytes, nextKey, prefixEnd } from './dom.js';

const PAGE = 10_000;

/** A map key for bytes: one char per byte (keys are compared and looked up, never shown from it). */
export const idOf = (bytes) => {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8_192) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8_192));
  return out;
};

/**
 * Every key under `prefix` at `revision` (undefined: now), in byte order, with `byId` to find one.
 * `signal` stops the reading between pages.
 */
export async function readSnapshot(etcd, prefix, revision, signal) {
  const end = prefix.length === 0 ? undefined : prefixEnd(prefix);
  let from = prefix.length === 0 ? new Uint8Array([0]) : prefix;
  const kvs = [];
  let at = revision;
  for (;;) {
    signal?.throwIfAborted();
    const answer = await etcd.range(
      { from, ...(end ? { to: end } : {}) },
      { keysOnly: true, limit: PAGE, ...(at ? { revision: at } : {}), signal },
    );
    at ??= answer.revision;
    for (const kv of answer.kvs) kvs.push(kv);
    if (!answer.more || answer.kvs.length === 0) break;
    from = nextKey(answer.kvs[answer.kvs.length - 1].key);
  }
  const byId = new Map();
  for (const kv of kvs) byId.set(idOf(kv.key), kv);
  return { revision: at, kvs, byId };
}

/** How each key of `then` stands now: 'deleted' (gone, or deleted and made again), 'changed', or '' (as it was). */
export function sinceThen(kv, now) {
  const current = now.byId.get(idOf(kv.key));
  if (!current || current.createRevision !== kv.createRevision) return current ? 'recreated' : 'deleted';
  return current.modRevision !== kv.modRevision ? 'changed' : '';
}

/** Keys created after `then` and present in `now`. */
export function createdSince(then, now) {
  let n = 0;
  for (const kv of now.kvs) if (!then.byId.has(idOf(kv.key))) n++;
  return n;
}

/** The changes from snapshot `a` to snapshot `b`, in key order: `{ kind: 'added'|'removed'|'changed', key, before?, after? }`. */
export function diffSnapshots(a, b) {
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.kvs.length || j < b.kvs.length) {
    const x = a.kvs[i];
    const y = b.kvs[j];
    const order = !x ? 1 : !y ? -1 : compareBytes(x.key, y.key);
    if (order < 0) {
      out.push({ kind: 'removed', key: x.key, before: x });
      i++;
    } else if (order > 0) {
      out.push({ kind: 'added', key: y.key, after: y });
      j++;
    } else {
      if (x.modRevision !== y.modRevision) out.push({ kind: 'changed', key: x.key, before: x, after: y });
      i++;
      j++;
    }
  }
  return out;
}

const MAX_EVENTS = 20_000; // past this many changes between two revisions, a full read is cheaper
const MAX_WAIT = 6_000; // only a watch that never answers takes this long: the newer revision always has a change

/** What a snapshot keeps of a key (never its value). */
const keyOnly = (kv) => ({
  key: kv.key,
  createRevision: kv.createRevision,
  modRevision: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
});

/**
 * The prefix at `revision`, derived from the snapshot `base` at another revision and the changes
 * in between, read from etcd's history with a watch of every key from the older revision + 1
 * (every revision holds at least one change somewhere, so the changes of the newer one close the
 * read). Going back, a key's state is the previous value of its first change. Undefined when a
 * full read is the better way (too many changes, not allowed to watch every key, no answer soon).
 */
export async function deriveSnapshot(etcd, prefix, base, revision, signal) {
  if (revision === base.revision) return base;
  const forward = revision > base.revision;
  const low = Math.min(base.revision, revision);
  const high = Math.max(base.revision, revision);
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal?.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, MAX_WAIT);
  const firsts = new Map(); // id -> the key at `low` (null: absent)
  const lasts = new Map(); // id -> the key at `high` (null: absent)
  let count = 0;
  let complete = false;
  try {
    const watch = etcd.watch({ prefix: '', startRevision: low + 1, prevKv: true, signal: controller.signal });
    reading: for await (const response of watch.responses()) {
      for (const event of response.events) {
        if (event.revision > high) {
          complete = true;
          break reading;
        }
        const key = event.kv.key;
        if (key.length < prefix.length || !prefix.every((b, i) => key[i] === b)) continue;
        if (++count > MAX_EVENTS) return undefined;
        const id = idOf(key);
        if (!firsts.has(id)) firsts.set(id, event.prevKv ? keyOnly(event.prevKv) : null);
        lasts.set(id, event.type === 'put' ? keyOnly(event.kv) : null);
      }
      if (response.events.length > 0 && response.events[response.events.length - 1].revision >= high) {
        complete = true;
        break;
      }
    }
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
    controller.abort();
  }
  if (!complete) return undefined; // timed out (or the caller gave up)
  const changes = forward ? lasts : firsts;
  const byId = new Map(base.byId);
  const added = [];
  for (const [id, kv] of changes) {
    if (kv === null) byId.delete(id);
    else {
      byId.set(id, kv);
      added.push(kv);
    }
  }
  added.sort((a, b) => compareBytes(a.key, b.key));
  const kvs = [];
  let j = 0;
  for (const kv of base.kvs) {
    if (changes.has(idOf(kv.key))) continue;
    while (j < added.length && compareBytes(added[j].key, kv.key) < 0) kvs.push(added[j++]);
    kvs.push(kv);
  }
  while (j < added.length) kvs.push(added[j++]);
  return { revision, kvs, byId };
}
