import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from 'etcd-fetch';
import { memberAdd, memberList, memberPromote, memberRemove, memberUpdate, moveLeader, status } from 'etcd-fetch/admin';
import { freePort, startEtcd } from '../../scripts/etcd.ts';
import { closedAfter, gatewayVersion, useEtcd, versionUnderTest } from '../helpers/etcd.ts';
import { startVersionGateway } from '../helpers/version-gateway.ts';

// Its own etcd: membership changes concern everyone on a server.
const etcdUnderTest = useEtcd({ ownServer: true, name: 'first' });
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));

/** Calls `call` until it stops failing with `expected`, for at most 20 s. */
async function retry<T>(call: () => Promise<T>, expected: abstract new (...args: never[]) => Error): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof expected) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe('cluster membership against a real etcd', () => {
  test('list shows the one member with its 64-bit ID and URLs', async () => {
    const { members, header } = await memberList(client());
    assert.equal(members.length, 1);
    const [member] = members;
    assert.match(member!.id, /^\d+$/);
    assert.equal(member!.id, header.memberId);
    assert.equal(member!.name, 'first');
    assert.deepEqual(member!.clientUrls, [etcdUnderTest.upstream]);
    assert.equal(member!.peerUrls.length, 1);
    assert.equal(member!.isLearner, false);
  });

  test('a learner is added, updated, refused promotion while out of sync, and removed', async () => {
    const etcd = client();
    // A learner does not count for quorum, so one that never starts leaves the cluster working.
    const peer = `http://127.0.0.1:${await freePort()}`;
    const added = await memberAdd(etcd, [peer], { isLearner: true });
    assert.deepEqual(added.member.peerUrls, [peer]);
    assert.equal(added.member.isLearner, true);
    assert.equal(added.member.name, '');
    assert.equal(added.members.length, 2);
    const moved = `http://127.0.0.1:${await freePort()}`;
    const updated = await memberUpdate(etcd, added.member.id, [moved]);
    assert.deepEqual(updated.members.find((m) => m.id === added.member.id)?.peerUrls, [moved]);
    await assert.rejects(memberPromote(etcd, added.member.id), FailedPreconditionError);
    const removed = await memberRemove(etcd, added.member.id);
    assert.deepEqual(
      removed.members.map((m) => m.name),
      ['first'],
    );
    await assert.rejects(memberRemove(etcd, added.member.id), NotFoundError);
    await etcd.put('still/works', 'yes');
  });

  test('a real second etcd joins as a learner, is promoted, takes leadership and leaves', async () => {
    const etcd = client();
    const first = (await memberList(etcd)).members[0]!;
    const peerPort = await freePort();
    const peer = `http://127.0.0.1:${peerPort}`;
    const { member } = await memberAdd(etcd, [peer], { isLearner: true });
    const second = await startEtcd({ name: 'second', peerPort, join: `first=${first.peerUrls[0]},second=${peer}` });
    // Under ETCD_GATEWAY the learner is reached through the same imitation as the first member.
    const imitated = gatewayVersion();
    const imitation = imitated && (await startVersionGateway({ upstream: second.endpoint, version: imitated }));
    const secondEndpoint = imitation ? imitation.endpoint : second.endpoint;
    try {
      // A learner answers status and serializable reads only; everything else is refused: 503
      // code 14 on 3.4 and 3.5 (so a read is retried until its deadline), 400 code 9 from 3.6 on
      // (FailedPreconditionError at once), "etcdserver: rpc not supported for learner".
      const refused =
        versionUnderTest() === '3.6' || versionUnderTest() === '3.7' ? 'FailedPreconditionError' : undefined;
      const onLearner = new Etcd({ endpoints: [secondEndpoint] });
      assert.equal((await status(onLearner)).isLearner, true);
      await onLearner.get('still/works', { serializable: true });
      const learnerRefusal = (error: Error) =>
        refused === undefined
          ? /^(Unavailable|Timeout)Error$/.test(error.name)
          : error.name === refused && /not supported for learner/.test(error.message);
      await assert.rejects(onLearner.get('still/works', { timeout: 1_000 }), learnerRefusal);
      await assert.rejects(onLearner.put('k', 'v', { timeout: 1_000 }), learnerRefusal);
      onLearner.close();
      // With a voting member among the endpoints, a call the learner refuses goes there instead.
      const learnerFirst = new Etcd({ endpoints: [secondEndpoint, etcdUnderTest.endpoint] });
      const watch = learnerFirst.watch({ key: 'learner/first' });
      await watch.ready;
      await learnerFirst.put('learner/first', 'put');
      assert.equal((await learnerFirst.get('learner/first'))?.valueText, 'put');
      for await (const event of watch) {
        assert.equal(event.kv.valueText, 'put');
        break;
      }
      learnerFirst.close();
      // Discovery leaves learners out (as Go's Sync): only the voting member's URL is learned.
      const discovering = new Etcd({ endpoints: [etcdUnderTest.endpoint], discover: true });
      await memberList(discovering);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // (Through an imitation, the member list names the real etcd behind it, learned beside the seed.)
      assert.deepEqual(discovering.transport.endpoints, [...new Set([etcdUnderTest.endpoint, etcdUnderTest.upstream])]);
      discovering.close();

      // etcd refuses promotion until the learner has caught up with the leader.
      await retry(() => memberPromote(etcd, member.id), FailedPreconditionError);
      // Promoting a voting member is refused.
      await assert.rejects(memberPromote(etcd, first.id), {
        name: 'FailedPreconditionError',
        message: /only promote a learner/,
      });
      const { members } = await memberList(etcd);
      assert.deepEqual(members.map((m) => [m.name, m.isLearner]).sort(), [
        ['first', false],
        ['second', false],
      ]);

      await moveLeader(etcd, member.id);
      const onSecond = new Etcd({ endpoints: [secondEndpoint] });
      assert.equal((await status(onSecond)).leader, member.id);
      await moveLeader(onSecond, first.id);
      assert.equal((await status(etcd)).leader, first.id);

      // A new leader refuses to remove a member ("unhealthy cluster") until it has heard from it.
      await retry(() => memberRemove(etcd, member.id), UnavailableError);
      assert.deepEqual(
        (await memberList(etcd)).members.map((m) => m.name),
        ['first'],
      );
    } finally {
      await imitation?.close();
      await second.stop();
    }
    await etcd.put('still/works', 'yes');
  });

  test('bad arguments are refused before any request', async () => {
    const etcd = client();
    await assert.rejects(memberAdd(etcd, []), InvalidArgumentError);
    await assert.rejects(memberAdd(etcd, ['not a url']), InvalidArgumentError);
    await assert.rejects(memberRemove(etcd, '12x'), InvalidArgumentError);
  });
});
