import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, type FetchLike, LeaseLostError, op } from 'etcd-fetch';
import { election, lock as lockOf, session as sessionOf, tryLock } from 'etcd-fetch/concurrency';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { within } from '../helpers/within.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter((fetch?: FetchLike) => new Etcd({ endpoints: [etcdUnderTest.endpoint], fetch }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('locks (fair mutex on leases, txns and watches)', () => {
  test('contenders get the lock one at a time, in arrival order, with no overlap', async () => {
    const name = `${uniquePrefix('lock')}jobs`;
    const etcd = client();
    const order: number[] = [];
    let inside = 0;
    let maxInside = 0;
    let released = 0;
    const contenders: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      contenders.push(
        (async () => {
          const lock = await lockOf(client(), name, { ttl: 10 });
          inside++;
          maxInside = Math.max(maxInside, inside);
          order.push(i);
          await sleep(30);
          inside--;
          await lock.unlock();
          released++;
        })(),
      );
      // Contender i has arrived once its key exists (or it has already released it): the next one comes after it.
      await until(async () => (await etcd.count({ prefix: `${name}/` })) + released >= i + 1, `contender ${i} in line`);
    }
    await within(Promise.all(contenders), 'every contender to get and release the lock', 30_000);
    assert.equal(maxInside, 1);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(await etcd.count({ prefix: `${name}/` }), 0, 'every lock key is gone');
  });

  test('the fencing revision grows and isOwner() guards writes', async () => {
    const etcd = client();
    const p = uniquePrefix('fence');
    const first = await lockOf(etcd, `${p}l`);
    const fenced = await etcd
      .txn()
      .if(first.isOwner())
      .then(op.put(`${p}data`, 'by first'))
      .commit();
    assert.equal(fenced.succeeded, true);
    await first.unlock();
    const stale = await etcd
      .txn()
      .if(first.isOwner())
      .then(op.put(`${p}data`, 'stale'))
      .commit();
    assert.equal(stale.succeeded, false);
    const second = await lockOf(etcd, `${p}l`);
    assert.ok(second.revision > first.revision);
    await second.unlock();
    assert.equal((await etcd.get(`${p}data`))?.valueText, 'by first');
  });

  test("a waiter sees its predecessor's release even when it happens while the waiter's watch is opening", async () => {
    const name = `${uniquePrefix('lock-race')}l`;
    const holder = await lockOf(client(), name, { ttl: 10 });
    let released = false;
    // Before the waiter's watch request reaches etcd, the holder lets go.
    const racing: FetchLike = async (request, init) => {
      if (!released && new URL(request.url).pathname === '/v3/watch') {
        released = true;
        await holder.unlock();
      }
      return globalThis.fetch(request, init);
    };
    const controller = new AbortController();
    const waiting = lockOf(client(racing), name, { ttl: 10, signal: controller.signal });
    try {
      const taken = await within(waiting, 'the waiter to take the lock after its predecessor released it');
      assert.equal(released, true, 'the release happened while the watch was opening');
      assert.ok(taken.revision > holder.revision);
      await taken.unlock();
    } finally {
      controller.abort();
    }
  });

  test('after a re-lock with the same session, the old handle no longer passes isOwner()', async () => {
    const etcd = client();
    const p = uniquePrefix('relock');
    await using session = await sessionOf(etcd, { ttl: 10 });
    const old = await lockOf(etcd, `${p}l`, { session });
    await old.unlock();
    const current = await lockOf(etcd, `${p}l`, { session });
    assert.deepEqual(current.key, old.key, 'the same session locks the same key');
    assert.ok(current.revision > old.revision);
    const stale = await etcd
      .txn()
      .if(old.isOwner())
      .then(op.put(`${p}data`, 'stale'))
      .commit();
    assert.equal(stale.succeeded, false, 'the old handle is fenced off');
    const fresh = await etcd
      .txn()
      .if(current.isOwner())
      .then(op.put(`${p}data`, 'current'))
      .commit();
    assert.equal(fresh.succeeded, true);
    await current.unlock();
    assert.equal((await etcd.get(`${p}data`))?.valueText, 'current');
  });

  test('tryLock takes a free lock and returns undefined for a held one, leaving no key behind', async () => {
    const etcd = client();
    const name = `${uniquePrefix('try')}l`;
    await using held = await tryLock(etcd, name);
    assert.ok(held);
    assert.equal(await tryLock(client(), name), undefined);
    assert.equal(await etcd.count({ prefix: `${name}/` }), 1);
  });

  test('a holder whose lease is revoked loses the lock (lost fires) and the next in line gets it', async () => {
    const name = `${uniquePrefix('revoke')}l`;
    const session = await sessionOf(client(), { ttl: 30 });
    const holder = await lockOf(client(), name, { session });
    const next = lockOf(client(), name, { ttl: 10 });
    await sleep(200);
    await session.lease.revoke();
    assert.equal(holder.lost.aborted, true);
    assert.ok(holder.lost.reason instanceof LeaseLostError);
    const taken = await within(next, 'the next in line to get the lock');
    assert.ok(taken.revision > holder.revision);
    await taken.unlock();
  });

  test('an aborted wait leaves the queue', async () => {
    const etcd = client();
    const name = `${uniquePrefix('abort')}l`;
    await using held = await lockOf(etcd, name);
    const controller = new AbortController();
    const waiting = lockOf(client(), name, { signal: controller.signal });
    await until(async () => (await etcd.count({ prefix: `${name}/` })) === 2, 'the waiter to queue');
    controller.abort();
    await assert.rejects(within(waiting, 'the aborted wait to end'), AbortedError);
    await until(async () => (await etcd.count({ prefix: `${name}/` })) === 1, 'the waiter to leave');
    assert.ok(held.revision > 0);
  });
});

describe('elections', () => {
  test('leadership passes on resign and on lease loss; observe sees each leader in order', async () => {
    const name = `${uniquePrefix('election')}main`;
    const watcher = client();
    const controller = new AbortController();
    const seen: string[] = [];
    const observing = (async () => {
      try {
        for await (const leader of election(watcher, name).observe({ signal: controller.signal }))
          seen.push(leader.valueText);
      } catch (error) {
        if (!(error instanceof AbortedError)) throw error;
      }
    })();

    const a = await election(client(), name).campaign('a');
    assert.equal((await election(watcher, name).leader())?.valueText, 'a');
    const sessionB = await sessionOf(client(), { ttl: 30 });
    const bWins = election(client(), name).campaign('b', { session: sessionB });
    const cWins = election(client(), name).campaign('c', { ttl: 10 });
    await sleep(200);
    await a.proclaim('a2');
    await until(() => seen.includes('a2'), 'observe to see the proclamation');
    await a.resign();
    const b = await within(bWins, 'b to win after a resigned');
    assert.equal((await election(watcher, name).leader())?.valueText, 'b');
    await assert.rejects(a.proclaim('stale'), { name: 'NotLeaderError' });
    await sessionB.lease.revoke(); // b's lease is lost: c takes over
    assert.equal(b.lost.aborted, true);
    const c = await within(cWins, 'c to win after b lost its lease');
    assert.equal((await election(watcher, name).leader())?.valueText, 'c');
    await until(() => seen.at(-1) === 'c', 'observe to see c');
    controller.abort();
    await within(observing, 'observe to end on abort');
    assert.deepEqual(seen, ['a', 'a2', 'b', 'c']);
    await c.resign();
    assert.equal(await election(watcher, name).leader(), undefined);
  });
});
