// Search over key names and values, by text (any case, or matching case) or by regular
// expression: every key under a prefix is read with its value, in pages bounded by bytes, all at
// one revision, and cancelled by an AbortSignal. No DOM here: the find panel shows the matches.
import { text } from './dom.js';
import { readPages } from './paged-read.js';

/** At most this many matches are kept (the count goes on). */
export const MAX_KEPT = 10_000;
const SNIPPET = 40;

/**
 * A matcher for `query`: `{ regex, matchCase, where: 'values' | 'keys' | 'both' }`.
 * Throws a readable error for a regular expression that does not compile.
 */
export function matcher(query, { regex = false, matchCase = false } = {}) {
  if (regex) {
    let pattern;
    try {
      pattern = new RegExp(query, matchCase ? 'u' : 'iu');
    } catch (error) {
      throw new Error(`not a regular expression: ${error.message}`);
    }
    return (haystack) => {
      const found = pattern.exec(haystack);
      return found ? { at: found.index, length: found[0].length } : undefined;
    };
  }
  const needle = matchCase ? query : query.toLowerCase();
  return (haystack) => {
    const at = (matchCase ? haystack : haystack.toLowerCase()).indexOf(needle);
    return at === -1 ? undefined : { at, length: needle.length };
  };
}

/** The text around a match: `{ before, match, after }`. */
function snippet(haystack, { at, length }) {
  const from = Math.max(0, at - SNIPPET);
  return {
    before: (from > 0 ? '…' : '') + haystack.slice(from, at),
    match: haystack.slice(at, at + Math.min(length, 200)),
    after: haystack.slice(at + length, at + length + SNIPPET) + (at + length + SNIPPET < haystack.length ? '…' : ''),
  };
}

export class ValueSearch {
  constructor(prefix, query, options = {}) {
    this.prefix = prefix;
    this.where = options.where ?? 'values';
    this.test = matcher(query, options);
    this.matches = []; // { key, in: 'key' | 'value', snippet }
    this.found = 0;
    this.scanned = 0;
    this.bytes = 0;
    this.pages = 0;
    this.largestPage = 0;
    this.revision = 0;
    this.done = false;
  }

  /** Reads every key under the prefix; `progress()` after each page. Rejects with the abort reason when stopped. */
  async run(etcd, signal, progress = () => {}) {
    for await (const page of readPages(etcd, { prefix: this.prefix, signal })) {
      this.revision = page.revision;
      this.pages++;
      this.bytes += page.bytes;
      this.largestPage = Math.max(this.largestPage, page.bytes);
      for (const kv of page.kvs) this.check(kv);
      this.scanned += page.kvs.length;
      progress();
      // One page's matching never holds the page for long: let it paint.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    this.done = true;
    progress();
  }

  check(kv) {
    if (this.where !== 'values') {
      const name = text(kv.key);
      const hit = this.test(name);
      if (hit) return this.keep({ key: kv.key, in: 'key', snippet: snippet(name, hit), size: kv.value.length });
    }
    if (this.where !== 'keys' && kv.value.length > 0) {
      const value = text(kv.value);
      const hit = this.test(value);
      if (hit) this.keep({ key: kv.key, in: 'value', snippet: snippet(value, hit), size: kv.value.length });
    }
  }

  keep(match) {
    this.found++;
    if (this.matches.length < MAX_KEPT) this.matches.push(match);
  }
}
