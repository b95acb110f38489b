import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, TimeoutError } from 'etcd-fetch';
import {
  gatewayCampaign,
  gatewayLeader,
  gatewayLock,
  gatewayObserve,
  gatewayProclaim,
  gatewayResign,
  gatewayUnlock,
} from 'etcd-fetch/admin';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = () => new Etcd({ endpoints: [etcdUnderTest.endpoint] });
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Polls `condition` until it holds, failing after 5 s. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("etcd's lock service through the gateway", () => {
  test('a second holder waits until the first unlocks', async () => {
    const etcd = client();
    const name = `${uniquePrefix('glock')}lock`;
    await using first = await etcd.grant(30);
    await using second = await etcd.grant(30);
    const held = await gatewayLock(etcd, name, { lease: first });
    assert.ok(text(held.key).startsWith(`${name}/`));
    const order: string[] = [];
    const waiting = gatewayLock(etcd, name, { lease: second }).then((lock) => (order.push('second'), lock));
    await new Promise((resolve) => setTimeout(resolve, 300));
    order.push('first unlocks');
    await gatewayUnlock(etcd, held.key);
    const next = await waiting;
    assert.deepEqual(order, ['first unlocks', 'second']);
    assert.ok(next.revision > held.revision);
    await gatewayUnlock(etcd, next.key);
  });

  test("revoking the holder's lease releases the lock to the next one", async () => {
    const etcd = client();
    const name = `${uniquePrefix('glock')}lock`;
    const first = await etcd.grant(30);
    await using second = await etcd.grant(30);
    await gatewayLock(etcd, name, { lease: first });
    const waiting = gatewayLock(etcd, name, { lease: second });
    await first.revoke();
    const next = await waiting;
    assert.equal((await etcd.get(next.key))?.lease, second.id);
  });

  test('a wait is cut short by its timeout or signal, and etcd drops the waiter', async () => {
    const etcd = client();
    const name = `${uniquePrefix('glock')}lock`;
    await using holder = await etcd.grant(30);
    await using waiter = await etcd.grant(30);
    const held = await gatewayLock(etcd, name, { lease: holder });
    await assert.rejects(gatewayLock(etcd, name, { lease: waiter, timeout: 300 }), TimeoutError);
    const controller = new AbortController();
    const aborted = gatewayLock(etcd, name, { lease: waiter, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(aborted, AbortedError);
    await until(async () => (await etcd.count({ prefix: `${name}/` })) === 1, 'etcd dropped the waiters');
    await gatewayUnlock(etcd, held.key);
    // Nobody took the lock behind our back: it can be taken at once.
    const again = await gatewayLock(etcd, name, { lease: holder, timeout: 5_000 });
    await gatewayUnlock(etcd, again.key);
  });
});

describe("etcd's election service through the gateway", () => {
  test('campaign, proclaim, leader and resign hand leadership to the next candidate; observe sees each leader', async () => {
    const etcd = client();
    const name = `${uniquePrefix('gelection')}e`;
    await using a = await etcd.grant(30);
    await using b = await etcd.grant(30);
    assert.equal(await gatewayLeader(etcd, name), undefined);

    const leaderA = await gatewayCampaign(etcd, name, 'a1', { lease: a });
    assert.equal(text(leaderA.name), name);
    assert.equal(leaderA.lease, a.id);

    const seen: string[] = [];
    const observing = (async () => {
      for await (const kv of gatewayObserve(etcd, name)) {
        seen.push(kv.valueText);
        if (seen.length === 3) break;
      }
    })();
    await until(() => seen.length === 1, 'observe saw the first leader');
    await gatewayProclaim(etcd, leaderA, 'a2');
    await until(() => seen.length === 2, 'observe saw the proclamation');
    assert.equal((await gatewayLeader(etcd, name))?.valueText, 'a2');
    const campaignB = gatewayCampaign(etcd, name, 'b1', { lease: b });
    await gatewayResign(etcd, leaderA);
    const leaderB = await campaignB;
    assert.equal(leaderB.lease, b.id);
    assert.equal((await gatewayLeader(etcd, name))?.valueText, 'b1');
    await observing;
    assert.deepEqual(seen, ['a1', 'a2', 'b1']);
    await gatewayResign(etcd, leaderB);
  });

  test('a leader whose lease ends loses leadership to the next candidate', async () => {
    const etcd = client();
    const name = `${uniquePrefix('gelection')}e`;
    const a = await etcd.grant(30);
    await using b = await etcd.grant(30);
    await gatewayCampaign(etcd, name, 'a', { lease: a });
    const campaignB = gatewayCampaign(etcd, name, 'b', { lease: b });
    await a.revoke();
    await campaignB;
    assert.equal((await gatewayLeader(etcd, name))?.valueText, 'b');
  });

  test('observe stops with AbortedError when its signal aborts', async () => {
    const etcd = client();
    const name = `${uniquePrefix('gelection')}e`;
    await using lease = await etcd.grant(30);
    await gatewayCampaign(etcd, name, 'x', { lease });
    const controller = new AbortController();
    const values: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const kv of gatewayObserve(etcd, name, { signal: controller.signal })) {
          values.push(kv.valueText);
          controller.abort();
        }
      })(),
      AbortedError,
    );
    assert.deepEqual(values, ['x']);
  });
});
