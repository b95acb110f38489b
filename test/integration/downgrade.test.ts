// etcd 3.6's downgrade API (`/v3/maintenance/downgrade`), on the real server of each line: 3.6 and
// 3.7 validate, enable and cancel; 3.5 validates only (its enable and cancel never answer); 3.4 has
// no route. The imitation of a line (ETCD_GATEWAY) validates as that line does and cancels nothing,
// but cannot enable a downgrade of the 3.4.23 behind it. Its own etcd: a downgrade concerns the
// whole cluster.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, FailedPreconditionError, InvalidArgumentError, UnimplementedError } from 'etcd-fetch';
import { downgrade, status } from 'etcd-fetch/admin';
import { closedAfter, gatewayVersion, useEtcd, versionUnderTest } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd({ ownServer: true });
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));

/** The line under test, real or imitated, when it has the downgrade route (3.5+). */
function line(): '3.5' | '3.6' | '3.7' | undefined {
  const version = versionUnderTest();
  return version === '3.5' || version === '3.6' || version === '3.7' ? version : undefined;
}
const imitated = gatewayVersion() !== undefined;

/** Polls `check` every 100 ms until it holds; fails after `ms`. */
async function until(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('downgrade (etcd 3.6+) against a real etcd', () => {
  test('bad actions and versions are refused before any request', async () => {
    const etcd = client();
    await assert.rejects(downgrade(etcd, 'ENABLE'), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'VALIDATE', '3'), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'ENABLE', 'v3.5'), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'STOP' as 'CANCEL'), InvalidArgumentError);
  });

  test('3.4 has no downgrade route: UnimplementedError', { skip: line() !== undefined }, async () => {
    await assert.rejects(downgrade(client(), 'VALIDATE', '3.3'), UnimplementedError);
  });

  test('3.5 validates a downgrade to 3.4, refuses any other version, and has none to cancel', {
    skip: line() !== '3.5',
  }, async () => {
    const etcd = client();
    assert.equal((await downgrade(etcd, 'VALIDATE', '3.4')).version, '3.5.0');
    await assert.rejects(downgrade(etcd, 'VALIDATE', '3.5'), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'ENABLE', '3.3'), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'CANCEL'), FailedPreconditionError);
  });

  const newer = line() === '3.6' || line() === '3.7';
  const lower = line() === '3.6' ? '3.5' : '3.6';
  test('3.6+: only the next minor version down validates; cancelling with none in progress succeeds', {
    skip: !newer,
  }, async () => {
    const etcd = client();
    const validated = await downgrade(etcd, 'VALIDATE', lower);
    assert.equal(validated.version, line());
    assert.match(validated.header.memberId, /^\d+$/);
    await assert.rejects(downgrade(etcd, 'VALIDATE', line()!), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'VALIDATE', '3.3'), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'ENABLE', '3.3'), InvalidArgumentError);
    assert.equal((await downgrade(etcd, 'CANCEL')).version, line());
    assert.deepEqual((await status(etcd)).downgradeInfo, { enabled: false, targetVersion: '' });
  });

  test('3.6+: enable (status shows it, the storage version drops), cancel', {
    skip: (!newer || imitated) && (imitated ? 'the imitation cannot downgrade the 3.4.23 behind it' : true),
  }, async () => {
    const etcd = client();
    const current = line()!;
    assert.equal((await downgrade(etcd, 'ENABLE', lower)).version, current);
    assert.deepEqual((await status(etcd)).downgradeInfo, { enabled: true, targetVersion: `${lower}.0` });
    // The leader lowers the cluster version and then the storage version within a second or two.
    await until(20_000, 'storage version lowered', async () => (await status(etcd)).storageVersion === `${lower}.0`);
    await assert.rejects(downgrade(etcd, 'ENABLE', lower), InvalidArgumentError, 'one downgrade at a time');

    const cancelled = await downgrade(etcd, 'CANCEL');
    assert.equal(cancelled.version, lower, 'the cluster version while downgraded');
    assert.deepEqual((await status(etcd)).downgradeInfo, { enabled: false, targetVersion: '' });
    // With every member on the newer binary, the cluster version and the storage version come back up.
    await until(20_000, 'storage version back', async () => (await status(etcd)).storageVersion === `${current}.0`);
    await etcd.put('still/works', 'yes');
  });
});
