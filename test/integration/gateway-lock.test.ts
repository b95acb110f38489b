import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, TimeoutError } from 'etcd-fetch';
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
    const held = await etcd.lockService.lock(name, { lease: first });
    assert.ok(text(held.key).startsWith(`${name}/`));
    const order: string[] = [];
    const waiting = etcd.lockService.lock(name, { lease: second }).then((lock) => (order.push('second'), lock));
    await new Promise((resolve) => setTimeout(resolve, 300));
    order.push('first unlocks');
    await etcd.lockService.unlock(held.key);
    const next = await waiting;
    assert.deepEqual(order, ['first unlocks', 'second']);
    assert.ok(next.revision > held.revision);
    await etcd.lockService.unlock(next.key);
  });

  test("revoking the holder's lease releases the lock to the next one", async () => {
    const etcd = client();
    const name = `${uniquePrefix('glock')}lock`;
    const first = await etcd.grant(30);
    await using second = await etcd.grant(30);
    await etcd.lockService.lock(name, { lease: first });
    const waiting = etcd.lockService.lock(name, { lease: second });
    await first.revoke();
    const next = await waiting;
    assert.equal((await etcd.get(next.key))?.lease, second.id);
  });

  test('a wait is cut short by its timeout or signal, and etcd drops the waiter', async () => {
    const etcd = client();
    const name = `${uniquePrefix('glock')}lock`;
    await using holder = await etcd.grant(30);
    await using waiter = await etcd.grant(30);
    const held = await etcd.lockService.lock(name, { lease: holder });
    await assert.rejects(etcd.lockService.lock(name, { lease: waiter, timeout: 300 }), TimeoutError);
    const controller = new AbortController();
    const aborted = etcd.lockService.lock(name, { lease: waiter, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(aborted, AbortedError);
    await until(async () => (await etcd.count({ prefix: `${name}/` })) === 1, 'etcd dropped the waiters');
    await etcd.lockService.unlock(held.key);
    // Nobody took the lock behind our back: it can be taken at once.
    const again = await etcd.lockService.lock(name, { lease: holder, timeout: 5_000 });
    await etcd.lockService.unlock(again.key);
  });
});

describe("etcd's election service through the gateway", () => {
  test('campaign, proclaim, leader and resign hand leadership to the next candidate; observe sees each leader', async () => {
    const etcd = client();
    const name = `${uniquePrefix('gelection')}e`;
    await using a = await etcd.grant(30);
    await using b = await etcd.grant(30);
    assert.equal(await etcd.electionService.leader(name), undefined);

    const leaderA = await etcd.electionService.campaign(name, 'a1', { lease: a });
    assert.equal(text(leaderA.name), name);
    assert.equal(leaderA.lease, a.id);

    const seen: string[] = [];
    const observing = (async () => {
      for await (const kv of etcd.electionService.observe(name)) {
        seen.push(kv.valueText);
        if (seen.length === 3) break;
      }
    })();
    await until(() => seen.length === 1, 'observe saw the first leader');
    await etcd.electionService.proclaim(leaderA, 'a2');
    await until(() => seen.length === 2, 'observe saw the proclamation');
    assert.equal((await etcd.electionService.leader(name))?.valueText, 'a2');
    const campaignB = etcd.electionService.campaign(name, 'b1', { lease: b });
    await etcd.electionService.resign(leaderA);
    const leaderB = await campaignB;
    assert.equal(leaderB.lease, b.id);
    assert.equal((await etcd.electionService.leader(name))?.valueText, 'b1');
    await observing;
    assert.deepEqual(seen, ['a1', 'a2', 'b1']);
    await etcd.electionService.resign(leaderB);
  });

  test('a leader whose lease ends loses leadership to the next candidate', async () => {
    const etcd = client();
    const name = `${uniquePrefix('gelection')}e`;
    const a = await etcd.grant(30);
    await using b = await etcd.grant(30);
    await etcd.electionService.campaign(name, 'a', { lease: a });
    const campaignB = etcd.electionService.campaign(name, 'b', { lease: b });
    await a.revoke();
    await campaignB;
    assert.equal((await etcd.electionService.leader(name))?.valueText, 'b');
  });

  test('observe stops with AbortedError when its signal aborts', async () => {
    const etcd = client();
    const name = `${uniquePrefix('gelection')}e`;
    await using lease = await etcd.grant(30);
    await etcd.electionService.campaign(name, 'x', { lease });
    const controller = new AbortController();
    const values: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const kv of etcd.electionService.observe(name, { signal: controller.signal })) {
          values.push(kv.valueText);
          controller.abort();
        }
      })(),
      AbortedError,
    );
    assert.deepEqual(values, ['x']);
  });
});
