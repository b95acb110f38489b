// Go's own client (go.etcd.io/etcd/client/v3, its concurrency package and experimental/recipe)
// beside ours on one etcd: Go talks gRPC to the etcd our client reaches over the gateway, and both
// use the same keys and protocol, so each sees the other's locks, leaders, transactions, barriers,
// queues and rw-locks. The Go side is test/interop/go, built into the cache by test-prerequisites.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, test } from 'node:test';
import { cmp, DoubleBarrierFullError, Etcd, op } from 'etcd-fetch';
import {
  barrier,
  doubleBarrier,
  election,
  type Lock,
  lock,
  priorityQueue,
  rwMutex,
  session,
  stm,
  workQueue,
} from 'etcd-fetch/concurrency';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { type GoDriver, startGoDriver } from '../helpers/go-driver.ts';
import { settlesWithin, within } from '../helpers/within.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));
let started: Promise<GoDriver> | undefined;
after(async () => {
  await (await started?.catch(() => undefined))?.close();
});

/**
 * Go's client, started on first use: the suite's etcd is up only once its `before` hook ran. It
 * speaks gRPC, so it goes to the real etcd, not to a version imitation in front of it.
 */
let go: GoDriver;
async function goClient(): Promise<GoDriver> {
  go = await (started ??= startGoDriver(etcdUnderTest.upstream));
  return go;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const pad = (revision: number) => String(revision).padStart(20, '0');

/**
 * The critical section both clients run while holding the lock (the same as `critical` in
 * test/interop/go/main.go): `owner` must not exist when it starts, `fence` holds the previous
 * holder's fencing revision, which must be below ours, `count` counts the sections and
 * `hist/<revision>` says who held it. Answers what went wrong, or undefined.
 */
async function critical(etcd: Etcd, prefix: string, me: string, held: Lock): Promise<string | undefined> {
  const [owner, fence, count] = [`${prefix}owner`, `${prefix}fence`, `${prefix}count`];
  const enter = await etcd
    .txn()
    .if(held.isOwner(), cmp.version(owner, '=', 0))
    .then(op.put(owner, me), op.get(fence), op.get(count))
    .else(op.get(owner))
    .commit();
  if (!enter.succeeded) return `${me} got the lock while ${enter.results[0]?.valueText ?? 'nobody'} held it`;
  const [, lastFence, lastCount] = enter.results;
  let problem: string | undefined;
  const previous = Number(lastFence?.valueText ?? 0);
  if (held.revision <= previous)
    problem = `${me} holds fencing revision ${held.revision}, not above the previous holder's ${previous}`;
  await sleep(Math.random());
  const leave = await etcd
    .txn()
    .if(
      held.isOwner(),
      cmp.value(owner, '=', me),
      cmp.modRevision(fence, '=', lastFence?.modRevision ?? 0),
      cmp.modRevision(count, '=', lastCount?.modRevision ?? 0),
    )
    .then(
      op.put(fence, pad(held.revision)),
      op.put(count, String(Number(lastCount?.valueText ?? 0) + 1)),
      op.del(owner),
      op.put(`${prefix}hist/${pad(held.revision)}`, me),
    )
    .commit();
  if (!leave.succeeded && problem === undefined)
    problem = `${me} (revision ${held.revision}): someone else wrote owner, fence or count while it held the lock`;
  return problem;
}

beforeEach(async () => {
  await goClient();
});

describe("Go's client and ours on the same etcd", () => {
  test("Go's concurrency.Mutex and our lock() share one lock: 200 acquisitions, one holder at a time, fencing revisions rising", async () => {
    const p = uniquePrefix('interop-lock');
    const name = `${p}lock`;
    const etcd = client();
    const perSide = 100;
    const workers = 2;
    const ours = async (worker: number) => {
      const me = `ts-${worker}`;
      await using s = await session(etcd, { ttl: 10 });
      const problems: string[] = [];
      for (let i = 0; i < perSide / workers; i++) {
        const held = await lock(etcd, name, { session: s });
        try {
          const problem = await critical(etcd, p, me, held);
          if (problem !== undefined) problems.push(problem);
        } finally {
          await held.unlock();
        }
      }
      return problems;
    };
    const [goSide, ...ourSides] = await within(
      Promise.all([
        go.call<{ acquired: number; violations: string[] }>('lock-loop', {
          name,
          prefix: p,
          me: 'go',
          n: perSide,
          workers,
          ttl: 10,
          timeoutMs: 50_000,
        }),
        ...Array.from({ length: workers }, (_, w) => ours(w)),
      ]),
      '200 acquisitions of the shared lock',
      55_000,
    );
    assert.deepEqual(goSide.violations, [], 'Go saw no second holder');
    assert.deepEqual(ourSides.flat(), [], 'we saw no second holder');
    assert.equal(goSide.acquired, perSide);
    assert.equal((await etcd.get(`${p}count`))?.valueText, String(2 * perSide), 'every section counted once');
    const history = (await etcd.range({ prefix: `${p}hist/` })).kvs.map((kv) => kv.valueText.split('-')[0]);
    assert.equal(history.length, 2 * perSide, 'each holder had its own fencing revision');
    assert.equal(history.filter((who) => who === 'go').length, perSide);
    let turns = 0;
    for (let i = 1; i < history.length; i++) if (history[i] !== history[i - 1]) turns++;
    assert.ok(turns >= 20, `the lock went back and forth between Go and us (${turns} times)`);
    assert.equal(await etcd.count({ prefix: `${name}/` }), 0, 'no lock key is left');
  });

  test('Go and our candidates campaign, proclaim, resign and observe each other', async () => {
    const name = `${uniquePrefix('interop-election')}leader`;
    const etcd = client();
    const ballot = election(etcd, name);
    await go.call('campaign', { handle: `${name}/go1`, name, value: 'go-1' });
    assert.equal((await ballot.leader())?.valueText, 'go-1', 'we see the Go leader');
    const observer = new AbortController();
    const seen: string[] = [];
    const observing = (async () => {
      for await (const leader of ballot.observe({ signal: observer.signal })) {
        seen.push(leader.valueText);
        if (leader.valueText === 'go-3') return;
      }
    })();
    const ourCampaign = ballot.campaign('ts-1', { ttl: 10 });
    assert.equal(await settlesWithin(ourCampaign, 300), false, 'we wait while Go leads');
    await go.call('proclaim', { handle: `${name}/go1`, value: 'go-2' });
    await go.call('resign', { handle: `${name}/go1` });
    const ours = await within(ourCampaign, 'our candidate to lead after Go resigned', 10_000);
    assert.equal((await go.call<{ leader: string }>('leader', { name })).leader, 'ts-1', 'Go sees our leader');
    const goCampaign = go.call('campaign', { handle: `${name}/go3`, name, value: 'go-3' });
    assert.equal(await settlesWithin(goCampaign, 300), false, 'Go waits while we lead');
    await ours.proclaim('ts-2');
    const goSaw = await go.call<{ seen: string[] }>('observe-until', { name, value: 'ts-2', timeoutMs: 10_000 });
    assert.deepEqual(goSaw.seen.slice(-1), ['ts-2'], 'Go observes our proclamation');
    await ours.resign();
    await within(goCampaign, "Go's candidate to lead after we resigned", 10_000);
    await within(observing, 'our observer to see the Go leader', 10_000);
    observer.abort();
    assert.deepEqual(seen, ['go-1', 'go-2', 'ts-1', 'ts-2', 'go-3'], 'we observe every leader and value in order');
    await go.call('resign', { handle: `${name}/go3` });
    assert.equal(await ballot.leader(), undefined);
  });

  test("Go's STM and ours move money between the same accounts and keep the total", async () => {
    const p = uniquePrefix('interop-stm');
    const etcd = client();
    const accounts = 5;
    for (let i = 0; i < accounts; i++) await etcd.put(`${p}${i}`, '100');
    const transfers = 60;
    const ours = async (seed: number) => {
      for (let i = 0; i < transfers / 2; i++) {
        const from = (seed + i) % accounts;
        const to = (from + 1 + ((seed * 7 + i) % (accounts - 1))) % accounts;
        await stm(etcd, async (tx) => {
          const a = Number(await tx.get(`${p}${from}`));
          const b = Number(await tx.get(`${p}${to}`));
          const amount = Math.min(a, 1 + ((i * 13) % 10));
          tx.put(`${p}${from}`, String(a - amount));
          tx.put(`${p}${to}`, String(b + amount));
        });
      }
    };
    await within(
      Promise.all([
        go.call('stm-transfers', { prefix: p, accounts, n: transfers, workers: 2, timeoutMs: 50_000 }),
        ours(1),
        ours(2),
      ]),
      'both sides to finish their transfers',
      55_000,
    );
    const balances = (await etcd.range({ prefix: p })).kvs.map((kv) => Number(kv.valueText));
    assert.equal(balances.length, accounts);
    assert.equal(
      balances.reduce((a, b) => a + b, 0),
      accounts * 100,
      `the total is kept (${balances.join(', ')})`,
    );
    assert.ok(
      balances.some((balance) => balance !== 100),
      'money moved',
    );
  });
});

describe("Go's experimental recipes and ours on the same keys", () => {
  test('Barrier: each side waits on a barrier the other holds, and passes when it is released', async () => {
    const name = `${uniquePrefix('interop-barrier')}gate`;
    const etcd = client();
    const gate = barrier(etcd, name);
    assert.deepEqual((await go.call<{ held: boolean }>('barrier-hold', { name })).held, true);
    assert.equal(await gate.hold(), false, 'Go holds it already');
    const waiting = gate.wait();
    assert.equal(await settlesWithin(waiting, 300), false, 'we wait while Go holds it');
    await go.call('barrier-release', { name });
    await within(waiting, 'our wait to end when Go released the barrier', 10_000);

    assert.equal(await gate.hold(), true);
    assert.equal((await go.call<{ held: boolean }>('barrier-hold', { name })).held, false, 'we hold it already');
    const goWaiting = go.call('barrier-wait', { name });
    assert.equal(await settlesWithin(goWaiting, 300), false, 'Go waits while we hold it');
    await gate.release();
    await within(goWaiting, "Go's wait to end when we released the barrier", 10_000);
    await gate.wait();
  });

  test('DoubleBarrier: Go and our participants enter together, leave together, and a fourth is turned away', async () => {
    const etcd = client();
    for (const [goCount, ourCount] of [
      [2, 1],
      [1, 2],
    ] as const) {
      const name = `${uniquePrefix('interop-double-barrier')}stage`;
      const goHandles = Array.from({ length: goCount }, (_, i) => `${name}/go${i}`);
      const ourBarriers = Array.from({ length: ourCount }, () => doubleBarrier(etcd, name, 3, { ttl: 10 }));
      const entering: Promise<unknown>[] = [];
      for (const handle of goHandles.slice(0, -1))
        entering.push(go.call('double-barrier-enter', { handle, name, count: 3, ttl: 10 }));
      for (const b of ourBarriers.slice(0, -1)) entering.push(b.enter());
      await sleep(100);
      assert.equal(await settlesWithin(Promise.race(entering), 200), false, 'nobody passes before the third is in');
      // The last one in: ours after two of Go's, Go's after two of ours.
      const last =
        goCount === 2
          ? [
              go.call('double-barrier-enter', { handle: goHandles[1], name, count: 3, ttl: 10 }),
              ourBarriers[0]!.enter(),
            ]
          : [
              go.call('double-barrier-enter', { handle: goHandles[0], name, count: 3, ttl: 10 }),
              ourBarriers[1]!.enter(),
            ];
      const entered = await within(Promise.all([...entering, ...last]), 'all three to pass the entry', 15_000);
      for (const answer of entered)
        if (answer !== undefined) assert.equal((answer as { tooMany: boolean }).tooMany, false);
      assert.equal(
        (await go.call<{ tooMany: boolean }>('double-barrier-enter', { handle: `${name}/go-extra`, name, count: 3 }))
          .tooMany,
        true,
        'Go is turned away as a fourth',
      );
      await assert.rejects(doubleBarrier(etcd, name, 3).enter(), DoubleBarrierFullError, 'so are we');
      const leaving = [
        ...goHandles.map((handle) => go.call('double-barrier-leave', { handle })),
        ...ourBarriers.map((b) => b.leave()),
      ];
      await within(Promise.all(leaving), 'all three to leave', 15_000);
      assert.equal(await etcd.count({ prefix: `${name}/` }), 0, 'no barrier key is left');
    }
  });

  test('Queue (ours: WorkQueue): items go out in order and once, whoever put them in or takes them out', async () => {
    const name = `${uniquePrefix('interop-queue')}jobs`;
    const etcd = client();
    const jobs = workQueue(etcd, name);
    for (const value of ['g1', 'g2']) await go.call('queue-enqueue', { name, value });
    await jobs.enqueue('t3');
    await go.call('queue-enqueue', { name, value: 'g4' });
    assert.equal((await jobs.dequeue()).valueText, 'g1');
    assert.equal((await go.call<{ value: string }>('queue-dequeue', { name })).value, 'g2');
    assert.equal((await jobs.dequeue()).valueText, 't3');
    assert.equal((await go.call<{ value: string }>('queue-dequeue', { name })).value, 'g4');

    const ourWait = jobs.dequeue();
    assert.equal(await settlesWithin(ourWait, 300), false, 'we wait on an empty queue');
    await go.call('queue-enqueue', { name, value: 'from go' });
    assert.equal((await within(ourWait, 'our dequeue to get what Go enqueued', 10_000)).valueText, 'from go');
    const goWait = go.call<{ value: string }>('queue-dequeue', { name });
    assert.equal(await settlesWithin(goWait, 300), false, 'Go waits on an empty queue');
    await jobs.enqueue('from us');
    assert.equal((await within(goWait, "Go's dequeue to get what we enqueued", 10_000)).value, 'from us');
    assert.equal(await etcd.count({ prefix: name }), 0);
  });

  test('PriorityQueue: lowest priority first, in order within a priority, across both clients', async () => {
    const name = `${uniquePrefix('interop-priority')}tasks`;
    const etcd = client();
    const tasks = priorityQueue(etcd, name);
    await go.call('priority-enqueue', { name, value: 'g5a', priority: 5 });
    await tasks.enqueue('t1', 1);
    await tasks.enqueue('t5b', 5);
    await go.call('priority-enqueue', { name, value: 'g5c', priority: 5 });
    await go.call('priority-enqueue', { name, value: 'g0', priority: 0 });
    await tasks.enqueue('t300', 300);
    const out: string[] = [];
    for (let i = 0; i < 3; i++) {
      out.push((await go.call<{ value: string }>('priority-dequeue', { name })).value);
      out.push((await tasks.dequeue()).valueText);
    }
    assert.deepEqual(out, ['g0', 't1', 'g5a', 't5b', 'g5c', 't300']);
    const keys = (await etcd.range({ prefix: `__${name}/` }, { keysOnly: true })).kvs.map((kv) => kv.keyText);
    assert.deepEqual(keys, [`__${name}/00000`, `__${name}/00001`, `__${name}/00005`, `__${name}/00300`]);

    const goWait = go.call<{ value: string }>('priority-dequeue', { name });
    assert.equal(await settlesWithin(goWait, 300), false, 'Go waits on an empty queue');
    await tasks.enqueue('late', 7);
    assert.equal((await within(goWait, "Go's dequeue to get what we enqueued", 10_000)).value, 'late');
    const ourWait = tasks.dequeue();
    await go.call('priority-enqueue', { name, value: 'later', priority: 2 });
    assert.equal((await within(ourWait, 'our dequeue to get what Go enqueued', 10_000)).valueText, 'later');
  });

  test('RWMutex: readers share with each other across clients, writers wait for earlier readers and exclude later ones', async () => {
    const name = `${uniquePrefix('interop-rwmutex')}catalog`;
    const etcd = client();
    const mutex = rwMutex(etcd, name, { ttl: 10 });

    await go.call('rw-rlock', { handle: `${name}/r1`, name });
    const ourRead = await within(mutex.readLock(), 'our read lock beside a Go reader', 10_000);
    const ourWrite = mutex.writeLock();
    assert.equal(await settlesWithin(ourWrite, 300), false, 'our writer waits for both readers');
    const goLateRead = go.call('rw-rlock', { handle: `${name}/r2`, name });
    assert.equal(await settlesWithin(goLateRead, 300), false, 'a Go reader after our writer waits for it');
    await go.call('rw-unlock', { handle: `${name}/r1` });
    assert.equal(await settlesWithin(ourWrite, 300), false, 'our writer still waits for our reader');
    await ourRead.unlock();
    const written = await within(ourWrite, 'our writer once both readers left', 10_000);
    assert.equal(written.mode, 'write');
    assert.equal(await settlesWithin(goLateRead, 300), false, 'the Go reader waits while we write');
    await written.unlock();
    await within(goLateRead, 'the Go reader after our writer left', 10_000);

    const goWrite = go.call('rw-lock', { handle: `${name}/w`, name });
    assert.equal(await settlesWithin(goWrite, 300), false, 'the Go writer waits for the Go reader');
    const ourLateRead = mutex.readLock();
    await go.call('rw-unlock', { handle: `${name}/r2` });
    await within(goWrite, 'the Go writer once its reader left', 10_000);
    assert.equal(await settlesWithin(ourLateRead, 300), false, 'our reader waits while Go writes');
    await go.call('rw-unlock', { handle: `${name}/w` });
    const lateRead = await within(ourLateRead, 'our reader after the Go writer left', 10_000);
    await lateRead.unlock();
    assert.equal(await etcd.count({ prefix: `${name}/` }), 0, 'no lock key is left');
  });
});
