// The recipes of Go's experimental/recipe package in etcd-fetch/concurrency (Barrier,
// DoubleBarrier, WorkQueue, PriorityQueue, RWMutex) among clients of ours; with Go's own client
// they are tested in go-interop.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, DoubleBarrierFullError, Etcd } from 'etcd-fetch';
import { barrier, doubleBarrier, priorityQueue, type RWLock, rwMutex, workQueue } from 'etcd-fetch/concurrency';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { settlesWithin, within } from '../helpers/within.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Barrier', () => {
  test('wait passes at once when the barrier is down, blocks while it is up, and ends on abort', async () => {
    const name = `${uniquePrefix('barrier')}gate`;
    const gate = barrier(client(), name);
    await within(gate.wait(), 'a wait on a barrier that is down', 5_000);
    assert.equal(await gate.hold(), true);
    assert.equal(await gate.hold(), false, 'a second hold finds it up');
    const aborted = new AbortController();
    const abandoned = gate.wait({ signal: aborted.signal });
    const waiters = [gate.wait(), barrier(client(), name).wait()];
    assert.equal(await settlesWithin(Promise.race(waiters), 300), false, 'waiters wait while it is up');
    aborted.abort();
    await assert.rejects(abandoned, AbortedError);
    await barrier(client(), name).release();
    await within(Promise.all(waiters), 'every waiter to pass once it is released', 10_000);
  });
});

describe('DoubleBarrier', () => {
  test('nobody passes enter() before all have entered, nor leave() before all have left; a fourth is refused', async () => {
    const name = `${uniquePrefix('double-barrier')}stage`;
    const etcd = client();
    const participants = [0, 1, 2].map(() => doubleBarrier(client(), name, 3, { ttl: 10 }));
    const entering = participants.slice(0, 2).map((p) => p.enter());
    assert.equal(await settlesWithin(Promise.race(entering), 300), false, 'two of three wait');
    await within(Promise.all([...entering, participants[2]!.enter()]), 'all three to enter', 10_000);
    assert.equal((await etcd.get(`${name}/ready`)) !== undefined, true, 'the last one in put the ready key');
    await assert.rejects(doubleBarrier(etcd, name, 3).enter(), DoubleBarrierFullError);
    const leaving = participants.slice(0, 2).map((p) => p.leave());
    assert.equal(await settlesWithin(Promise.race(leaving), 300), false, 'two of three wait for the third to leave');
    await within(Promise.all([...leaving, participants[2]!.leave()]), 'all three to leave', 10_000);
    assert.equal(await etcd.count({ prefix: `${name}/` }), 0, 'no key is left');
  });

  test('an aborted enter() takes its key back, so the barrier still needs a full set', async () => {
    const name = `${uniquePrefix('double-barrier-abort')}stage`;
    const etcd = client();
    const aborted = new AbortController();
    const quitter = doubleBarrier(etcd, name, 2, { ttl: 10 }).enter({ signal: aborted.signal });
    await sleep(200);
    aborted.abort();
    await assert.rejects(quitter, AbortedError);
    assert.equal(await etcd.count({ prefix: `${name}/waiters` }), 0, 'the quitter left no key');
    const [a, b] = [doubleBarrier(etcd, name, 2, { ttl: 10 }), doubleBarrier(etcd, name, 2, { ttl: 10 })];
    const first = a.enter();
    assert.equal(await settlesWithin(first, 300), false, 'one of two waits');
    await within(Promise.all([first, b.enter()]), 'both to enter', 10_000);
    await within(Promise.all([a.leave(), b.leave()]), 'both to leave', 10_000);
  });
});

describe('WorkQueue', () => {
  test('concurrent takers get every item exactly once, oldest first', async () => {
    const name = `${uniquePrefix('work-queue')}jobs`;
    const queue = workQueue(client(), name);
    const items = Array.from({ length: 24 }, (_, i) => `job-${i}`);
    for (const item of items) await queue.enqueue(item);
    const taken: string[][] = [[], [], []];
    await within(
      Promise.all(
        taken.map(async (mine) => {
          const taker = workQueue(client(), name);
          for (let i = 0; i < items.length / taken.length; i++) mine.push((await taker.dequeue()).valueText);
        }),
      ),
      'three takers to empty the queue',
      30_000,
    );
    assert.deepEqual(taken.flat().sort(), [...items].sort(), 'each item went to exactly one taker');
    for (const mine of taken) {
      const order = mine.map((item) => Number(item.slice(4)));
      assert.deepEqual(
        order,
        [...order].sort((x, y) => x - y),
        'each taker got them oldest first',
      );
    }
    const aborted = new AbortController();
    const waiting = queue.dequeue({ signal: aborted.signal });
    assert.equal(await settlesWithin(waiting, 300), false, 'a taker waits on an empty queue');
    aborted.abort();
    await assert.rejects(waiting, AbortedError);
  });
});

describe('PriorityQueue', () => {
  test('lowest priority number first, first in first out within one, and bad priorities refused', async () => {
    const name = `${uniquePrefix('priority-queue')}tasks`;
    const queue = priorityQueue(client(), name);
    const other = priorityQueue(client(), name);
    await Promise.all([queue.enqueue('a1', 1), other.enqueue('b1', 1)]);
    await queue.enqueue('c0', 0);
    await other.enqueue('d65535', 65535);
    await queue.enqueue('e1', 1);
    const out: string[] = [];
    for (let i = 0; i < 5; i++) out.push((await (i % 2 ? other : queue).dequeue()).valueText);
    assert.equal(out[0], 'c0');
    assert.deepEqual(out.slice(1, 3).sort(), ['a1', 'b1'], 'two writers of one priority got two numbers');
    assert.deepEqual(out.slice(3), ['e1', 'd65535']);
    for (const bad of [-1, 65536, 1.5, Number.NaN])
      await assert.rejects(queue.enqueue('x', bad), { name: 'InvalidArgumentError' });
  });
});

describe('RWMutex', () => {
  test('readers share, writers are alone, and everyone gets in', async () => {
    const name = `${uniquePrefix('rw-mutex')}catalog`;
    let readers = 0;
    let writers = 0;
    const problems: string[] = [];
    let maxReaders = 0;
    const worker = async (mode: 'read' | 'write', rounds: number) => {
      const mutex = rwMutex(client(), name, { ttl: 10 });
      for (let i = 0; i < rounds; i++) {
        const held: RWLock = await (mode === 'read' ? mutex.readLock() : mutex.writeLock());
        if (mode === 'read') readers++;
        else writers++;
        if (writers > 1 || (writers === 1 && readers > 0)) problems.push(`${writers} writers and ${readers} readers`);
        maxReaders = Math.max(maxReaders, readers);
        await sleep(mode === 'read' ? 40 : 10);
        if (mode === 'read') readers--;
        else writers--;
        await held.unlock();
      }
    };
    await within(
      Promise.all([worker('read', 6), worker('read', 6), worker('read', 6), worker('write', 4), worker('write', 4)]),
      'every reader and writer to get its turns',
      40_000,
    );
    assert.deepEqual(problems, []);
    assert.ok(maxReaders >= 2, `readers held it together (at most ${maxReaders} at once)`);
    assert.equal(await client().count({ prefix: `${name}/` }), 0, 'no key is left');
  });

  test('an aborted writeLock() takes its key back and lets later readers in', async () => {
    const name = `${uniquePrefix('rw-mutex-abort')}catalog`;
    const mutex = rwMutex(client(), name, { ttl: 10 });
    const reading = await mutex.readLock();
    const aborted = new AbortController();
    const writing = mutex.writeLock({ signal: aborted.signal });
    assert.equal(await settlesWithin(writing, 300), false, 'the writer waits for the reader');
    aborted.abort();
    await assert.rejects(writing, AbortedError);
    const second = await within(mutex.readLock(), 'a reader after the writer gave up', 10_000);
    await Promise.all([reading.unlock(), second.unlock()]);
    assert.equal(await client().count({ prefix: `${name}/` }), 0, 'no key is left');
  });
});
