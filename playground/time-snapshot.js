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
    const answer = await etcd.range({
      from,
      ...(end ? { to: end } : {}),
      keysOnly: true,
      limit: PAGE,
      ...(at ? { revision: at } : {}),
      signal,
    });
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
