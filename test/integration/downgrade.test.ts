// etcd 3.6's downgrade API (`/v3/maintenance/downgrade`), on the real server of each line: 3.6 and
// 3.7 validate, enable and cancel; 3.5 validates only (its enable and cancel never answer); 3.4 has
// no route. Its own etcd: a downgrade concerns the whole cluster.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, InvalidArgumentError, UnimplementedError } from 'etcd-fetch';
import { downgrade, status } from 'etcd-fetch/admin';
import { closedAfter, gatewayVersion, useEtcd, versionUnderTest } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd({ ownServer: true });
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));

/** The real server's line, or undefined for Debian's 3.4.23 and any imitation (which has no downgrade). */
function realLine(): '3.5' | '3.6' | '3.7' | undefined {
  const version = versionUnderTest();
  return gatewayVersion() === undefined && (version === '3.5' || version === '3.6' || version === '3.7')
    ? version
    : undefined;
}

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

  test('3.4 (and the imitation) has no downgrade route: UnimplementedError', {
    skip: realLine() !== undefined,
  }, async () => {
    await assert.rejects(downgrade(client(), 'VALIDATE', '3.3'), UnimplementedError);
  });

  test('3.5 validates a downgrade to 3.4 and refuses any other version', { skip: realLine() !== '3.5' }, async () => {
    const etcd = client();
    assert.equal((await downgrade(etcd, 'VALIDATE', '3.4')).version, '3.5.0');
    await assert.rejects(downgrade(etcd, 'VALIDATE', '3.5'), InvalidArgumentError);
  });

  const newer = realLine() === '3.6' || realLine() === '3.7';
  test('3.6+: validate, enable (status shows it, the storage version drops), cancel', { skip: !newer }, async () => {
    const etcd = client();
    const line = realLine()!;
    const lower = line === '3.6' ? '3.5' : '3.6';
    const validated = await downgrade(etcd, 'VALIDATE', lower);
    assert.equal(validated.version, line);
    assert.match(validated.header.memberId, /^\d+$/);
    // Only the next minor version down is allowed.
    await assert.rejects(downgrade(etcd, 'VALIDATE', line), InvalidArgumentError);
    await assert.rejects(downgrade(etcd, 'VALIDATE', '3.3'), InvalidArgumentError);
    // Cancelling with no downgrade in progress is no error from 3.6 on.
    assert.equal((await downgrade(etcd, 'CANCEL')).version, line);
    assert.deepEqual((await status(etcd)).downgradeInfo, { enabled: false, targetVersion: '' });

    assert.equal((await downgrade(etcd, 'ENABLE', lower)).version, line);
    assert.deepEqual((await status(etcd)).downgradeInfo, { enabled: true, targetVersion: `${lower}.0` });
    // The leader lowers the cluster version and then the storage version within a second or two.
    await until(20_000, 'storage version lowered', async () => (await status(etcd)).storageVersion === `${lower}.0`);
    await assert.rejects(downgrade(etcd, 'ENABLE', lower), InvalidArgumentError, 'one downgrade at a time');

    const cancelled = await downgrade(etcd, 'CANCEL');
    assert.equal(cancelled.version, lower, 'the cluster version while downgraded');
    assert.deepEqual((await status(etcd)).downgradeInfo, { enabled: false, targetVersion: '' });
    // With every member on the newer binary, the cluster version and the storage version come back up.
    await until(20_000, 'storage version back', async () => (await status(etcd)).storageVersion === `${line}.0`);
    await etcd.put('still/works', 'yes');
  });
});
