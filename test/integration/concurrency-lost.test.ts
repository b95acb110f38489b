import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, type FetchLike, LeaseLostError } from 'etcd-fetch';
import { election, lock, session as sessionOf } from 'etcd-fetch/concurrency';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter((fetch?: FetchLike) => new Etcd({ endpoints: [etcdUnderTest.endpoint], fetch }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `signal` aborts; rejects naming `what` after `ms`, so a missing `lost` fails on its own. */
function aborts(signal: AbortSignal, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => reject(new Error(`${what}: lost did not fire within ${ms} ms`)), ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Time for a watch to deliver a delete that a wrong `lost` would follow. */
const SETTLE_MS = 500;

describe('lost fires only when a holder loses without asking', () => {
  test('a deliberate unlock does not fire lock.lost (the lock made its own session)', async () => {
    const held = await lock(client(), `${uniquePrefix('unlock')}l`);
    const lost = held.lost;
    await held.unlock();
    await sleep(SETTLE_MS);
    assert.equal(lost.aborted, false, `lost fired: ${String(lost.reason)}`);
  });

  test("a deliberate unlock with a shared session fires neither the lock's nor the session's lost", async () => {
    const etcd = client();
    const session = await sessionOf(etcd, { ttl: 30 });
    const held = await lock(etcd, `${uniquePrefix('unlock-shared')}l`, { session });
    const lost = held.lost;
    await held.unlock();
    await sleep(SETTLE_MS);
    assert.equal(lost.aborted, false, `lock.lost fired: ${String(lost.reason)}`);
    assert.equal(session.lost.aborted, false, `session.lost fired: ${String(session.lost.reason)}`);
    await session.close();
  });

  test('a deliberate resign does not fire leadership.lost', async () => {
    const leadership = await election(client(), `${uniquePrefix('resign')}e`).campaign('a');
    const lost = leadership.lost;
    await leadership.resign();
    await sleep(SETTLE_MS);
    assert.equal(lost.aborted, false, `lost fired: ${String(lost.reason)}`);
  });

  test('closing a session deliberately fires neither session.lost nor the lost of what it holds', async () => {
    const etcd = client();
    const session = await sessionOf(etcd, { ttl: 30 });
    const held = await lock(etcd, `${uniquePrefix('close')}l`, { session });
    const leadership = await election(etcd, `${uniquePrefix('close')}e`).campaign('a', { session });
    const signals = { session: session.lost, lock: held.lost, leadership: leadership.lost };
    await session.close();
    await sleep(SETTLE_MS);
    for (const [what, signal] of Object.entries(signals))
      assert.equal(signal.aborted, false, `${what}.lost fired: ${String(signal.reason)}`);
    assert.equal(await etcd.count({ prefix: held.key }), 0, 'the lock key went with the lease');
  });

  test("lock.lost and session.lost fire when another client revokes the session's lease", async () => {
    const etcd = client();
    const session = await sessionOf(etcd, { ttl: 3 });
    const held = await lock(etcd, `${uniquePrefix('revoked')}l`, { session });
    await client().revoke(session.lease.id);
    await aborts(held.lost, 'the lock');
    assert.equal(session.lost.aborted, true);
    assert.ok(held.lost.reason instanceof LeaseLostError, String(held.lost.reason));
  });

  test('lock.lost and leadership.lost fire when another client deletes their key', async () => {
    const etcd = client();
    const held = await lock(etcd, `${uniquePrefix('deleted')}l`, { ttl: 30 });
    const leadership = await election(etcd, `${uniquePrefix('deleted')}e`).campaign('a', { ttl: 30 });
    const lockLost = held.lost;
    const leadershipLost = leadership.lost;
    const other = client();
    await other.del(held.key);
    await other.del(leadership.key);
    await aborts(lockLost, 'the lock');
    await aborts(leadershipLost, 'the leadership');
    assert.match(String((lockLost.reason as Error).message), /deleted/);
    // Its session still lives: the holder gave nothing up, and releasing what is gone does no harm.
    assert.equal(held.session.lost.aborted, false);
    await held.unlock();
    await leadership.resign();
  });

  test('closing the session of a waiting lock ends the wait with AbortedError, and its lost never fires', async () => {
    const etcd = client();
    const name = `${uniquePrefix('close-waiting')}l`;
    await using held = await lock(etcd, name, { ttl: 30 });
    const session = await sessionOf(etcd, { ttl: 30 });
    // Its outcome, caught at once: the wait may end while close() is still revoking the lease.
    const waiting = lock(etcd, name, { session }).then(
      () => 'got the lock',
      (error: unknown) => error,
    );
    for (let i = 0; (await etcd.count({ prefix: `${name}/` })) < 2; i++) {
      assert.ok(i < 200, 'the waiter never queued');
      await sleep(25);
    }
    await session.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      waiting,
      new Promise((resolve) => (timer = setTimeout(resolve, 10_000, 'still waiting after 10 s'))),
    ]);
    clearTimeout(timer);
    assert.ok(outcome instanceof AbortedError, String(outcome));
    assert.match(outcome.message, /session .*closed/);
    assert.equal(session.lost.aborted, false, String(session.lost.reason));
    assert.ok(held.revision > 0);
  });

  test('a wait aborted by its signal says so, not that its session was closed', async () => {
    const etcd = client();
    const name = `${uniquePrefix('abort-waiting')}l`;
    await using held = await lock(etcd, name, { ttl: 30 });
    const controller = new AbortController();
    const waiting = lock(etcd, name, { signal: controller.signal }).then(
      () => 'got the lock',
      (error: unknown) => error,
    );
    for (let i = 0; (await etcd.count({ prefix: `${name}/` })) < 2; i++) {
      assert.ok(i < 200, 'the waiter never queued');
      await sleep(25);
    }
    controller.abort();
    const outcome = await waiting;
    assert.ok(outcome instanceof AbortedError, String(outcome));
    assert.doesNotMatch(outcome.message, /session/);
    assert.ok(held.revision > 0);
  });

  test('a lock whose create revision was compacted before lost was read: no false loss, and a later delete still fires it', async () => {
    const etcd = client();
    const name = `${uniquePrefix('compacted')}l`;
    const held = await lock(etcd, name, { ttl: 30 });
    await etcd.put(`${name}-after`, 'x');
    const { revision } = await etcd.put(`${name}-after`, 'y');
    await etcd.compact(revision); // the watch from the lock's revision + 1 is refused as compacted
    const lost = held.lost;
    await sleep(SETTLE_MS);
    assert.equal(lost.aborted, false, `lost fired: ${String(lost.reason)}`);
    await client().del(held.key);
    await aborts(lost, 'the lock');
    assert.equal(held.session.lost.aborted, false);
    await held.unlock();
  });
});
