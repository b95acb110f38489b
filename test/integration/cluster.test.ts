import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, FailedPreconditionError, InvalidArgumentError, NotFoundError } from 'etcd-fetch';
import { freePort } from '../../scripts/etcd.ts';
import { useEtcd } from '../helpers/etcd.ts';

// Its own etcd: membership changes concern everyone on a server.
const etcdUnderTest = useEtcd({ ownServer: true, name: 'first' });
const client = () => new Etcd({ endpoints: [etcdUnderTest.endpoint] });

describe('cluster membership against a real etcd', () => {
  test('list shows the one member with its 64-bit ID and URLs', async () => {
    const { members, header } = await client().cluster.members();
    assert.equal(members.length, 1);
    const [member] = members;
    assert.match(member!.id, /^\d+$/);
    assert.equal(member!.id, header.memberId);
    assert.equal(member!.name, 'first');
    assert.deepEqual(member!.clientUrls, [etcdUnderTest.endpoint]);
    assert.equal(member!.peerUrls.length, 1);
    assert.equal(member!.isLearner, false);
  });

  test('a learner is added, updated, refused promotion while out of sync, and removed', async () => {
    const etcd = client();
    // A learner does not count for quorum, so one that never starts leaves the cluster working.
    const peer = `http://127.0.0.1:${await freePort()}`;
    const added = await etcd.cluster.addMember([peer], { isLearner: true });
    assert.deepEqual(added.member.peerUrls, [peer]);
    assert.equal(added.member.isLearner, true);
    assert.equal(added.member.name, '');
    assert.equal(added.members.length, 2);
    const moved = `http://127.0.0.1:${await freePort()}`;
    const updated = await etcd.cluster.updateMember(added.member.id, [moved]);
    assert.deepEqual(updated.members.find((m) => m.id === added.member.id)?.peerUrls, [moved]);
    await assert.rejects(etcd.cluster.promoteMember(added.member.id), FailedPreconditionError);
    const removed = await etcd.cluster.removeMember(added.member.id);
    assert.deepEqual(removed.members.map((m) => m.name), ['first']);
    await assert.rejects(etcd.cluster.removeMember(added.member.id), NotFoundError);
    await etcd.put('still/works', 'yes');
  });

  test('bad arguments are refused before any request', async () => {
    const etcd = client();
    await assert.rejects(etcd.cluster.addMember([]), InvalidArgumentError);
    await assert.rejects(etcd.cluster.addMember(['not a url']), InvalidArgumentError);
    await assert.rejects(etcd.cluster.removeMember('12x'), InvalidArgumentError);
  });
});
