// The relay's ring of recent events: which resumes it serves, exactly at the eviction boundary.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventRing, type HubEntry } from '../../src/relay/relay-ring.ts';

const entry = (revision: number, index = 0, last = true): HubEntry => {
  const id = last ? String(revision) : `${revision}.${index}`;
  return { id, revision, index, text: `event: put\ndata: ${id}\n\n`, plain: new TextEncoder().encode(`id: ${id}\n`) };
};

describe('relay ring boundary', () => {
  test('a resume starting at the revision just evicted from the ring is refused (the ring would lose it); one revision later is served whole', () => {
    const ring = new EventRing(10, 3, 1 << 20);
    for (const revision of [10, 11, 12, 13, 14]) ring.add(entry(revision));
    // 10 and 11 were evicted: a resume from 11 needs 11, which the ring no longer holds.
    assert.equal(ring.since(11, 0), undefined);
    assert.equal(ring.since(10, 0), undefined);
    assert.deepEqual(
      ring.since(12, 0)?.map((e) => e.id),
      ['12', '13', '14'],
    );
    assert.equal(ring.floor, 12);
  });

  test('with gaps between revisions (other keys written meanwhile) the floor is the one after the evicted revision', () => {
    const ring = new EventRing(5, 1, 1 << 20);
    for (const revision of [5, 9, 20]) ring.add(entry(revision));
    assert.equal(ring.since(9, 0), undefined, 'revision 9 was evicted');
    assert.equal(ring.since(6, 0), undefined);
    // Nothing of these keys happened in 10..19: a resume from 10 loses nothing.
    assert.deepEqual(
      ring.since(10, 0)?.map((e) => e.id),
      ['20'],
    );
  });

  test('a revision evicted in part: a resume into it is refused, the next revision is served', () => {
    const ring = new EventRing(7, 2, 1 << 20);
    for (const e of [entry(7), entry(8, 0, false), entry(8, 1, false), entry(8, 2, true)]) ring.add(e);
    // 8.0 evicted with 7: revision 8 cannot be served from its start.
    assert.equal(ring.since(8, 0), undefined);
    assert.deepEqual(ring.since(9, 0), []);
  });

  test('evicted by bytes: the same boundary', () => {
    const one = entry(1);
    const size = one.plain.byteLength + one.text.length * 2;
    const ring = new EventRing(1, 100, size * 2);
    for (const revision of [1, 2, 3]) ring.add(entry(revision));
    assert.equal(ring.since(1, 0), undefined);
    assert.deepEqual(
      ring.since(2, 0)?.map((e) => e.id),
      ['2', '3'],
    );
  });
});
