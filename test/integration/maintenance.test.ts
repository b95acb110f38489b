import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, FailedPreconditionError, ResourceExhaustedError, UnimplementedError } from 'etcd-fetch';
import { alarmDisarm, alarmList, defragment, hash, hashKV, moveLeader, status } from 'etcd-fetch/admin';
import { useEtcd } from '../helpers/etcd.ts';

// Its own etcd with a tiny quota, so the NOSPACE alarm can be raised and cleared.
const etcdUnderTest = useEtcd({ ownServer: true, args: ['--quota-backend-bytes', String(2 * 1024 * 1024)] });
const client = () => new Etcd({ endpoints: [etcdUnderTest.endpoint] });

describe('maintenance against a real etcd', () => {
  test('status reports version, database size, leader and raft position', async () => {
    const answer = await status(client());
    assert.match(answer.version, /^3\.\d+\.\d+/);
    assert.ok(answer.dbSize > 0);
    assert.ok(answer.dbSizeInUse > 0 && answer.dbSizeInUse <= answer.dbSize);
    assert.equal(answer.leader, answer.header.memberId);
    assert.ok(answer.raftIndex > 0 && answer.raftTerm > 0);
    assert.equal(answer.isLearner, false);
    assert.deepEqual(answer.errors, []);
    // 3.6 added the quota, the storage version and the downgrade state (gateway names dbSizeQuota,
    // storageVersion, downgradeInfo {enabled, targetVersion}); before 3.6 they read as zero values.
    const newer = etcdUnderTest.version === '3.6' || etcdUnderTest.version === '3.7';
    assert.equal(answer.dbSizeQuota, newer ? 2 * 1024 * 1024 : 0);
    assert.equal(answer.storageVersion, newer ? `${etcdUnderTest.version}.0` : '');
    assert.deepEqual(answer.downgradeInfo, { enabled: false, targetVersion: '' });
  });

  test('hash is stable while nothing is written and changes with a write', async () => {
    const etcd = client();
    const first = await hash(etcd);
    assert.equal((await hash(etcd)).hash, first.hash);
    await etcd.put('hash/k', 'v');
    assert.notEqual((await hash(etcd)).hash, first.hash);
  });

  test('hashKV is served from etcd 3.5 on, and is UnimplementedError on 3.4', async () => {
    const etcd = client();
    const { revision } = await etcd.put('hashkv/k', 'v');
    const served =
      etcdUnderTest.version === '3.5' || etcdUnderTest.version === '3.6' || etcdUnderTest.version === '3.7';
    if (!served) {
      await assert.rejects(hashKV(etcd), UnimplementedError);
      return;
    }
    const at = await hashKV(etcd, { revision });
    assert.equal(at.hashRevision, revision);
    assert.equal((await hashKV(etcd, { revision })).hash, at.hash, 'stable at one revision');
    await etcd.put('hashkv/k', 'w');
    const latest = await hashKV(etcd);
    assert.ok(latest.hashRevision > revision);
    assert.notEqual(latest.hash, at.hash);
    assert.equal((await hashKV(etcd, { revision })).hash, at.hash, 'the past does not change');
  });

  test('moving leadership to the leader itself succeeds; to an unknown member it fails', async () => {
    const etcd = client();
    const { leader } = await status(etcd);
    await moveLeader(etcd, leader);
    await assert.rejects(moveLeader(etcd, '1'), FailedPreconditionError);
  });

  test('a full database raises NOSPACE; compact, defragment and disarm clear it', async () => {
    const etcd = client();
    const value = 'x'.repeat(100 * 1024);
    let full = false;
    for (let i = 0; i < 100 && !full; i++) {
      try {
        await etcd.put(`fill/${i % 5}`, value);
      } catch (error) {
        assert.ok(error instanceof ResourceExhaustedError, String(error));
        full = true;
      }
    }
    assert.ok(full, 'the quota was reached');
    const alarms = await alarmList(etcd);
    assert.deepEqual(
      alarms.map((a) => a.alarm),
      ['NOSPACE'],
    );
    assert.match(alarms[0]!.memberId, /^\d+$/);
    assert.ok((await status(etcd)).errors.length > 0);

    const { revision } = await etcd.del({ prefix: 'fill/' });
    await etcd.compact(revision, { physical: true });
    const before = (await status(etcd)).dbSize;
    await defragment(etcd);
    assert.ok((await status(etcd)).dbSize < before, 'defragment shrank the file');
    assert.deepEqual(
      (await alarmDisarm(etcd)).map((a) => a.alarm),
      ['NOSPACE'],
    );
    assert.deepEqual(await alarmList(etcd), []);
    await etcd.put('fill/after', 'fits again');
  });
});
