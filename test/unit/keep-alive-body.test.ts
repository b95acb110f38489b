import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { batchesOf, keepAliveBody, MAX_BATCH_BYTES, paddingFor } from '../../src/lease/keep-alive-body.ts';

/**
 * How many lease lines of `body` etcd's gateway has read when it flushes its first answer, at the
 * earliest: what Go's json.Decoder holds once its first value is complete. Its first read takes
 * 512 bytes; when fewer than 512 bytes are free it grows to twice its size plus 512 and reads to
 * the end of it (encoding/json stream.go refill); the whitespace before the first value stays in
 * the buffer while that value is read. A value ends at its `}` (the decoder invents the byte after).
 */
function leasesReadBeforeFirstAnswer(body: string): number {
  const firstEnd = body.indexOf('}') + 1;
  let size = 0;
  let read = 0;
  while (read < firstEnd) {
    if (size - read < 512) size = 2 * size + 512;
    read = Math.min(body.length, size);
  }
  let complete = 0;
  for (let end = body.indexOf('}'); end !== -1 && end < read; end = body.indexOf('}', end + 1)) complete++;
  return complete;
}

const id19 = (i: number) => String(7_587_862_319_498_400_000n + BigInt(i));
const ids = (n: number, make = id19) => Array.from({ length: n }, (_, i) => make(i));

describe('keep-alive body layout', () => {
  test('the decoder model reproduces what etcd 3.4.23 was measured to answer', () => {
    // Unpadded: cut at 17 leases (512 bytes) whatever the size; 15,872 bytes of padding: cut at 565.
    assert.equal(
      leasesReadBeforeFirstAnswer(
        ids(1000)
          .map((id) => `{"ID":"${id}"}\n`)
          .join(''),
      ),
      17,
    );
    assert.equal(
      leasesReadBeforeFirstAnswer(
        ' '.repeat(15_872) +
          ids(600)
            .map((id) => `{"ID":"${id}"}\n`)
            .join(''),
      ),
      565,
    );
  });

  test('every body of a batch has all its leases read before the first answer, with a quarter of the read to spare', () => {
    for (const make of [id19, (i: number) => String(i + 1)]) {
      for (const batch of batchesOf(ids(10_000, make), (id) => id)) {
        for (const n of [1, 2, 13, 14, 17, 50, 100, 141, 142, 282, 283, batch.length]) {
          if (n > batch.length) continue;
          const body = keepAliveBody(batch.slice(0, n));
          assert.equal(leasesReadBeforeFirstAnswer(body), n, `${n} leases of ${batch[0]!.length} digits`);
        }
      }
    }
  });

  test('batches keep the order, leave none out and stay within the bytes the padding covers', () => {
    const all = ids(10_000);
    const batches = batchesOf(all, (id) => id);
    assert.deepEqual(batches.flat(), all);
    assert.equal(batches.length, 24);
    for (const batch of batches) {
      assert.ok(batch.length > 0);
      assert.ok(batch.reduce((bytes, id) => bytes + id.length + 10, 0) <= MAX_BATCH_BYTES);
    }
    assert.equal(batches[0]!.length, 423);
    assert.equal(paddingFor(0), 0);
    assert.equal(paddingFor(13 * 29), 0);
    assert.equal(paddingFor(14 * 29), 512);
    assert.equal(paddingFor(MAX_BATCH_BYTES), 15_872);
  });
});
