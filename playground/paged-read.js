// Reads keys with their values a page at a time, each page bounded by bytes, not only by count:
// etcd 3.4/3.5's gateway may refuse an answer over 4 MiB, and a folder of 100 MiB must still open.
// A page asks for as many keys as the budget holds at the largest value seen so far (at most
// four times the last page, starting from one key), and a page refused as too large is asked again at
// half the count. Every page reads at the revision of the first one.
import { nextKey, prefixEnd } from './dom.js';

/** Raw key and value bytes per page: the gateway's gRPC answer stays below its 4 MiB (its JSON, base64, is about 4/3 of it). */
export const PAGE_BYTES = 3 * 1024 * 1024;
const MAX_PAGE = 5_000;

const tooLarge = (error) =>
  /larger than max|longer than|maxResponseBytes|message too large|too large/i.test(String(error?.message)) ||
  error?.code === 8;

/**
 * Yields each page of `{ kvs, revision, bytes }` under `prefix` (a Uint8Array; empty = all keys),
 * or from `from` to `to`. `signal` cancels between and during pages.
 */
export async function* readPages(etcd, { prefix, from, to, revision, signal, budget = PAGE_BYTES }) {
  const end = to ?? (prefix && prefix.length > 0 ? prefixEnd(prefix) : undefined);
  let start = from ?? (prefix && prefix.length > 0 ? prefix : new Uint8Array([0]));
  let limit = 1;
  let largest = 0;
  while (start !== undefined) {
    signal?.throwIfAborted();
    let answer;
    try {
      answer = await etcd.range(
        { from: start, ...(end ? { to: end } : {}) },
        { limit, ...(revision ? { revision } : {}), signal, timeout: 30_000 },
      );
    } catch (error) {
      if (limit > 1 && tooLarge(error)) {
        limit = Math.max(1, limit >> 1);
        continue;
      }
      throw error;
    }
    revision ??= answer.revision;
    let bytes = 0;
    for (const kv of answer.kvs) {
      const size = kv.key.length + kv.value.length;
      bytes += size;
      if (size > largest) largest = size;
    }
    yield { kvs: answer.kvs, revision, bytes, limit };
    const last = answer.kvs.at(-1);
    start = answer.more && last ? nextKey(last.key) : undefined;
    limit = Math.max(1, Math.min(MAX_PAGE, limit * 4, Math.floor(budget / Math.max(largest, 1))));
  }
}
