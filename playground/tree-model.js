// The key tree's data: folders of keys split on "/", each read whole (keys only, in growing
// chunks, all at one revision) and kept current by watch events newer than that revision.
// A folder's subtree is skipped with one request starting at its prefix end, so a folder costs
// about one request per 5 000 children plus one per sub-folder, whatever lies below.
import { compareBytes, hex, nextKey, prefixEnd } from './dom.js';

const SLASH = 0x2f;
const CHUNKS = [500, 5_000];
/** Past this many children a folder stops reading (search finds the rest). */
export const MAX_CHILDREN = 200_000;

let ids = 0;

/** A row of the tree: a key, or a folder (with its own Folder once opened). */
export function entryOf(kind, bytes) {
  return { id: ++ids, kind, bytes, open: false, folder: undefined, count: undefined, countRevision: 0, flashAt: 0 };
}

export class Folder {
  constructor(prefix) {
    this.prefix = prefix;
    this.entries = []; // in byte order
    this.index = new Map(); // hex of bytes -> entry
    this.loaded = false;
    this.loading = undefined; // the promise of the read in flight
    this.error = undefined; // why the last read failed
    this.revision = 0; // the revision the children were read at
    this.truncated = false;
    this.pending = []; // events that came while reading
  }

  /** What a key is at this level: itself, or the folder that holds it. */
  entryFor(key) {
    const slash = key.indexOf(SLASH, this.prefix.length);
    return slash === -1 ? { kind: 'key', bytes: key } : { kind: 'folder', bytes: key.slice(0, slash + 1) };
  }

  find(bytes) {
    return this.index.get(hex(bytes));
  }

  insert(kind, bytes) {
    const entry = entryOf(kind, bytes);
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareBytes(this.entries[mid].bytes, bytes) < 0) low = mid + 1;
      else high = mid;
    }
    this.entries.splice(low, 0, entry);
    this.index.set(hex(bytes), entry);
    return entry;
  }

  remove(entry) {
    const at = this.entries.indexOf(entry);
    if (at >= 0) this.entries.splice(at, 1);
    this.index.delete(hex(entry.bytes));
  }

  /** Reads every child (once; a failed read can be tried again). */
  load(etcd) {
    if (this.loaded) return Promise.resolve();
    this.error = undefined;
    this.loading ??= this.read(etcd).then(
      () => {
        this.loading = undefined;
      },
      (error) => {
        this.loading = undefined;
        this.error = error;
        throw error;
      },
    );
    return this.loading;
  }

  async read(etcd) {
    const end = this.prefix.length === 0 ? undefined : prefixEnd(this.prefix);
    let from = this.prefix.length === 0 ? new Uint8Array([0]) : this.prefix;
    let revision;
    const found = [];
    for (let chunk = 0; from !== undefined; chunk++) {
      const limit = CHUNKS[Math.min(chunk, CHUNKS.length - 1)];
      const answer = await etcd.range(
        { from, ...(end ? { to: end } : {}) },
        { keysOnly: true, limit, ...(revision ? { revision } : {}) },
      );
      revision ??= answer.revision;
      let next;
      for (const kv of answer.kvs) {
        const entry = this.entryFor(kv.key);
        if (found.length === 0 || compareBytes(found[found.length - 1].bytes, entry.bytes) !== 0) found.push(entry);
        // Past a folder, the next request starts at its end: its other keys are never read.
        next = entry.kind === 'folder' ? prefixEnd(entry.bytes) : nextKey(kv.key);
      }
      if (found.length >= MAX_CHILDREN) {
        this.truncated = true;
        break;
      }
      from = answer.more && next !== undefined && (end === undefined || compareBytes(next, end) < 0) ? next : undefined;
    }
    this.entries = found.map(({ kind, bytes }) => entryOf(kind, bytes));
    this.index = new Map(this.entries.map((entry) => [hex(entry.bytes), entry]));
    this.revision = revision;
    this.loaded = true;
    const pending = this.pending;
    this.pending = [];
    for (const event of pending) applyIn(this, event);
  }
}

/** Applies one watch event to `folder` and the loaded folders under it; true when rows changed. */
export function applyIn(folder, event) {
  const { key } = event;
  const created = event.type === 'put' && event.kv?.version === 1;
  let changed = false;
  for (;;) {
    if (!folder.loaded) {
      if (folder.loading) folder.pending.push(event);
      return changed;
    }
    if (event.revision <= folder.revision) return changed;
    const wanted = folder.entryFor(key);
    let entry = folder.find(wanted.bytes);
    if (wanted.kind === 'key') {
      if (event.type === 'put' && !entry) entry = folder.insert('key', key);
      else if (event.type === 'delete' && entry) {
        folder.remove(entry);
        return true;
      }
      if (entry) entry.flashAt = performance.now();
      return true;
    }
    if (!entry) {
      if (event.type !== 'put') return changed;
      entry = folder.insert('folder', wanted.bytes);
      entry.count = 0;
      entry.countRevision = event.revision - 1;
    }
    changed = true;
    entry.flashAt = performance.now();
    countEvent(entry, event, created);
    if (event.type === 'delete' && entry.count === 0) {
      folder.remove(entry);
      return true;
    }
    if (!entry.folder) return true;
    folder = entry.folder;
  }
}

/** Keeps a folder's key count current: +1 for a create, -1 for a delete, newer than the count. */
export function countEvent(entry, event, created = event.type === 'put' && event.kv?.version === 1) {
  if (entry.count === undefined || event.revision <= entry.countRevision) return;
  if (created) entry.count++;
  else if (event.type === 'delete') entry.count = Math.max(0, entry.count - 1);
}

/** Reads a folder's key count (at most once at a time), then keeps it with `countEvent`. */
export async function readCount(etcd, entry) {
  if (entry.counting) return entry.counting;
  entry.counting = etcd
    .range({ prefix: entry.bytes }, { countOnly: true })
    .then(({ count, revision }) => {
      if (revision >= entry.countRevision) {
        entry.count = count;
        entry.countRevision = revision;
      }
    })
    .finally(() => (entry.counting = undefined));
  return entry.counting;
}
