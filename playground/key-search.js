// Search and list view: every key under a prefix whose name contains the query (any case),
// found by reading the keys only, a page at a time, all at one revision; matches are shown as
// they come and kept current by watch events newer than that revision.
import { compareBytes, hex, keyLabel, nextKey, prefixEnd } from './dom.js';
import { entryOf } from './tree-model.js';

const PAGE = 2_000;
export const MAX_MATCHES = 100_000;

export class KeySearch {
  constructor(prefix, query) {
    this.prefix = prefix;
    this.query = query.toLowerCase();
    this.entries = [];
    this.index = new Map();
    this.scanned = 0;
    this.done = false;
    this.revision = 0;
    this.stopped = false;
  }

  matches(key) {
    return this.query === '' || keyLabel(key).toLowerCase().includes(this.query);
  }

  /** Scans every key under the prefix, calling `progress` after each page. */
  async run(etcd, progress) {
    const end = this.prefix.length === 0 ? undefined : prefixEnd(this.prefix);
    let from = this.prefix.length === 0 ? new Uint8Array([0]) : this.prefix;
    while (from !== undefined && !this.stopped) {
      const answer = await etcd.range(
        { from, ...(end ? { to: end } : {}) },
        { keysOnly: true, limit: PAGE, ...(this.revision ? { revision: this.revision } : {}) },
      );
      if (this.stopped) return;
      this.revision ||= answer.revision;
      this.scanned += answer.kvs.length;
      for (const kv of answer.kvs) {
        if (this.entries.length < MAX_MATCHES && this.matches(kv.key) && !this.index.has(hex(kv.key))) this.add(kv.key);
      }
      const last = answer.kvs.at(-1);
      from = answer.more && last ? nextKey(last.key) : undefined;
      if (this.entries.length >= MAX_MATCHES) from = undefined;
      progress();
    }
    this.done = true;
    progress();
  }

  /** Inserts a key in byte order (the scan's keys usually go last). */
  add(key) {
    let at = this.entries.length;
    if (at > 0 && compareBytes(this.entries[at - 1].bytes, key) > 0) {
      let low = 0;
      while (low < at) {
        const mid = (low + at) >> 1;
        if (compareBytes(this.entries[mid].bytes, key) < 0) low = mid + 1;
        else at = mid;
      }
    }
    const entry = entryOf('key', key);
    this.entries.splice(at, 0, entry);
    this.index.set(hex(key), entry);
    return entry;
  }

  /** A watch event: a new matching key joins the list, a deleted one leaves; true when rows changed. */
  apply(event) {
    if (this.revision === 0 || event.revision <= this.revision || !this.matches(event.key)) return false;
    const existing = this.index.get(hex(event.key));
    if (event.type === 'delete') {
      if (!existing) return false;
      this.entries.splice(this.entries.indexOf(existing), 1);
      this.index.delete(hex(event.key));
      return true;
    }
    if (existing) {
      existing.flashAt = performance.now();
      return true;
    }
    this.add(event.key).flashAt = performance.now();
    return true;
  }
}
