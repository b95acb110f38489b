// Leases, locks, discovery and auth status with authentication on, as current etcd releases
// check them (the CVE-2026-33413 fix: keep-alives need put permission on the lease's keys; member
// lists and status need a user). Run
// with ETCD_SERVER_VERSION=3.5/3.6/3.7 the checks are the real server's; with ETCD_GATEWAY=3.5/3.6/3.7
// the imitation's (test/helpers/version-gateway.ts); against Debian's 3.4.23 they are more lenient.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Etcd,
  type FetchLike,
  type Lease,
  LeaseLostError,
  PermissionDeniedError,
  UnauthenticatedError,
} from 'etcd-fetch';
import {
  alarmDisarm,
  alarmList,
  authEnable,
  authStatus,
  downgrade,
  memberList,
  roleAdd,
  roleGrantPermission,
  status,
  userAdd,
  userChangePassword,
  userGrantRole,
} from 'etcd-fetch/admin';
import { lock as lockOf, session } from 'etcd-fetch/concurrency';
import { type EtcdCluster, startCluster } from '../../scripts/cluster.ts';
import { gatewayVersion, uniquePrefix, useEtcd, versionUnderTest } from '../helpers/etcd.ts';
import { startVersionGateway, type VersionGateway } from '../helpers/version-gateway.ts';

// Tokens expire after 2 idle seconds, so every test below outlives several of them.
const etcdUnderTest = useEtcd({ ownServer: true, args: ['--auth-token-ttl', '2'] });
const ROOT = { username: 'root', password: 'root-Pw-1' };
const BOB_PASSWORD = 'bob-Pw-1';
const endpoints = () => [etcdUnderTest.endpoint];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function lostReason(lease: Lease): LeaseLostError | undefined {
  return lease.lost.aborted ? (lease.lost.reason as LeaseLostError) : undefined;
}

describe('with authentication on, as current etcd releases check it', () => {
  before(async () => {
    const etcd = new Etcd({ endpoints: endpoints() });
    await userAdd(etcd, ROOT.username, ROOT.password);
    await roleAdd(etcd, 'root');
    await userGrantRole(etcd, 'root', 'root');
    await userAdd(etcd, 'bob', BOB_PASSWORD);
    await roleAdd(etcd, 'bob-app');
    await roleGrantPermission(etcd, 'bob-app', 'readwrite', { prefix: 'bob/' });
    await userGrantRole(etcd, 'bob', 'bob-app');
    await authEnable(etcd);
  });

  test('a lease of a non-root user lives for 3x its TTL while its token expires and is renewed', async () => {
    const bob = new Etcd({ endpoints: endpoints(), auth: { username: 'bob', password: BOB_PASSWORD } });
    const lease = await bob.grant(2);
    const key = `bob/${uniquePrefix('lease')}k`;
    await bob.put(key, 'v', { lease });
    await sleep(6_500);
    assert.equal(lostReason(lease), undefined, String(lostReason(lease)));
    assert.equal((await bob.get(key))?.valueText, 'v');
    await lease.revoke();
  });

  test('a lock is held past its session TTL', async () => {
    const bob = new Etcd({ endpoints: endpoints(), auth: { username: 'bob', password: BOB_PASSWORD } });
    await using bobSession = await session(bob, { ttl: 2 });
    const lock = await lockOf(bob, `bob/${uniquePrefix('lock')}l`, { session: bobSession });
    await sleep(6_500);
    assert.equal(bobSession.lease.lost.aborted, false, String(bobSession.lease.lost.reason));
    const owner = await bob.txn().if(lock.isOwner()).commit();
    assert.equal(owner.succeeded, true, 'still the owner after 3 TTLs');
    await lock.unlock();
  });

  test('a lease outlives a password change of its user: the password source gives the new one and the token is renewed', async () => {
    const root = new Etcd({ endpoints: endpoints(), auth: ROOT });
    await userAdd(root, 'carol', 'carol-old');
    await userGrantRole(root, 'carol', 'bob-app');
    let password = 'carol-old';
    const carol = new Etcd({ endpoints: endpoints(), auth: { username: 'carol', password: () => password } });
    const lease = await carol.grant(3);
    await carol.put(`bob/${uniquePrefix('carol')}k`, 'v', { lease });
    // etcd drops every token of a user whose password changes.
    password = 'carol-new';
    await userChangePassword(root, 'carol', password);
    await sleep(7_000);
    assert.equal(lostReason(lease), undefined, String(lostReason(lease)));
    assert.ok((await lease.timeToLive()).ttl > 0);
    await lease.revoke();
  });

  test("a keep-alive refused for permission says so in lost's reason", {
    skip: versionUnderTest() === undefined && 'etcd 3.4.23 keeps alive any lease without checking',
  }, async () => {
    const root = new Etcd({ endpoints: endpoints(), auth: ROOT });
    const bob = new Etcd({ endpoints: endpoints(), auth: { username: 'bob', password: BOB_PASSWORD } });
    const lease = await bob.grant(5);
    // A key bob may not write, bound to bob's lease by root.
    await root.put(`${uniquePrefix('root-only')}k`, 'v', { lease: lease.id });
    const own = await bob.grant(5);
    await new Promise((resolve) => lease.lost.addEventListener('abort', resolve, { once: true }));
    const reason = lostReason(lease)!;
    assert.ok(reason instanceof LeaseLostError);
    assert.match(reason.message, /permission denied/);
    assert.ok(reason.cause instanceof PermissionDeniedError);
    // The same keep-alive request carried the other lease: it stays alive.
    assert.equal(own.lost.aborted, false);
    await own.revoke();
  });

  test('authStatus() answers for any user, root or not, and for a client without credentials', async () => {
    const root = new Etcd({ endpoints: endpoints(), auth: ROOT });
    const bob = new Etcd({ endpoints: endpoints(), auth: { username: 'bob', password: BOB_PASSWORD } });
    const nobody = new Etcd({ endpoints: endpoints() });
    assert.deepEqual(await authStatus(root), { enabled: true });
    assert.deepEqual(await authStatus(bob), { enabled: true });
    assert.deepEqual(await authStatus(nobody), { enabled: true });
  });

  test('authStatus() asks /v3/auth/status where etcd serves it (3.5+) and falls back to the user list on 3.4 only', async () => {
    const version = versionUnderTest();
    const serves = version !== undefined && !version.startsWith('3.4');
    for (const auth of [ROOT, { username: 'bob', password: BOB_PASSWORD }, undefined]) {
      const paths: string[] = [];
      const fetch: FetchLike = (request, init) => {
        paths.push(new URL(request.url).pathname);
        return globalThis.fetch(request, init);
      };
      const etcd = new Etcd({ endpoints: endpoints(), fetch, ...(auth ? { auth } : {}) });
      assert.deepEqual(await authStatus(etcd), { enabled: true });
      const asked = paths.filter((path) => path !== '/v3/auth/authenticate');
      assert.deepEqual(
        asked,
        serves ? ['/v3/auth/status'] : ['/v3/auth/status', '/v3/auth/user/list'],
        `as ${auth?.username ?? 'nobody'}`,
      );
    }
  });

  test('maintenance status and member list: any user may; a client without a token is refused with UnauthenticatedError on a fixed etcd', async () => {
    // etcd 3.5.36, 3.6.17 and 3.7.4 ask only for a user (requireAuthInfo), not an admin.
    for (const auth of [ROOT, { username: 'bob', password: BOB_PASSWORD }]) {
      const etcd = new Etcd({ endpoints: endpoints(), auth });
      assert.match((await status(etcd)).version, /^3\./);
      assert.equal((await memberList(etcd)).members.length, 1);
    }
    const nobody = new Etcd({ endpoints: endpoints() });
    if (versionUnderTest() === undefined) {
      // Debian's 3.4.23 answers both without a token.
      assert.match((await status(nobody)).version, /^3\./);
      assert.equal((await memberList(nobody)).members.length, 1);
      return;
    }
    await assert.rejects(status(nobody), UnauthenticatedError);
    await assert.rejects(memberList(nobody), UnauthenticatedError);
  });

  test('alarms: any user may list them, only root may disarm or downgrade; without a token, nothing on a fixed etcd', async () => {
    const bob = new Etcd({ endpoints: endpoints(), auth: { username: 'bob', password: BOB_PASSWORD } });
    const root = new Etcd({ endpoints: endpoints(), auth: ROOT });
    const nobody = new Etcd({ endpoints: endpoints() });
    const { leader } = await status(root);
    const alarm = { memberId: leader, alarm: 'NOSPACE' } as const;
    assert.deepEqual(await alarmList(bob), []);
    assert.deepEqual(await alarmDisarm(root, alarm), []);
    if (versionUnderTest() === undefined) {
      // Debian's 3.4.23 lists and disarms alarms for anyone, and has no downgrade route.
      assert.deepEqual(await alarmList(nobody), []);
      assert.deepEqual(await alarmDisarm(nobody, alarm), []);
      return;
    }
    await assert.rejects(alarmDisarm(bob, alarm), PermissionDeniedError);
    await assert.rejects(alarmList(nobody), UnauthenticatedError);
    await assert.rejects(alarmDisarm(nobody, alarm), UnauthenticatedError);
    // 3.4 (Debian's, the latest or upstream's 3.4.23) has no downgrade route.
    if (!versionUnderTest()!.startsWith('3.4')) {
      await assert.rejects(downgrade(bob, 'VALIDATE', '3.3'), PermissionDeniedError);
      await assert.rejects(downgrade(nobody, 'VALIDATE', '3.3'), UnauthenticatedError);
    }
    for (const etcd of [bob, root, nobody]) etcd.close();
  });
});

describe('discovery with authentication on', () => {
  let cluster: EtcdCluster;
  let imitation: VersionGateway | undefined;
  let seed = '';
  before(async () => {
    cluster = await startCluster({ size: 3 });
    seed = cluster.endpoints[0]!;
    const version = gatewayVersion();
    if (version !== undefined) seed = (imitation = await startVersionGateway({ upstream: seed, version })).endpoint;
    const etcd = new Etcd({ endpoints: [seed] });
    await userAdd(etcd, ROOT.username, ROOT.password);
    await roleAdd(etcd, 'root');
    await userGrantRole(etcd, 'root', 'root');
    await userAdd(etcd, 'bob', BOB_PASSWORD);
    await authEnable(etcd);
  });
  after(async () => {
    await imitation?.close();
    await cluster?.stop();
  });

  test('discover: true learns every member, and a failure to list them is reported, not swallowed', async () => {
    const expected = [...new Set([seed, ...cluster.endpoints])].sort();
    const root = new Etcd({ endpoints: [seed], discover: true, auth: ROOT });
    await root.get('x');
    for (let i = 0; i < 200 && root.transport.endpoints.length < expected.length; i++) await sleep(25);
    assert.deepEqual([...root.transport.endpoints].sort(), expected);

    // Any user may list members: bob's discovery learns them too.
    const bob = new Etcd({ endpoints: [seed], discover: true, auth: { username: 'bob', password: BOB_PASSWORD } });
    await bob.get('x').catch(() => {}); // bob may read nothing: the call fails, the discovery not
    for (let i = 0; i < 200 && bob.transport.endpoints.length < expected.length; i++) await sleep(25);
    assert.deepEqual([...bob.transport.endpoints].sort(), expected);

    // A fixed etcd lists members only to a user: a client without credentials fails to, and says why.
    const errors: unknown[] = [];
    const nobody = new Etcd({ endpoints: [seed], discover: { onError: (error) => errors.push(error) } });
    await nobody.get('x').catch(() => {});
    for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(20);
    if (versionUnderTest() === undefined) {
      assert.deepEqual(errors, [], 'etcd 3.4.23 lists members to anyone');
    } else {
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof UnauthenticatedError, String(errors[0]));
      assert.deepEqual(nobody.transport.endpoints, [seed]);
    }
  });
});
