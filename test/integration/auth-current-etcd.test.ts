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
import { downgrade } from 'etcd-fetch/admin';
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
    await etcd.auth.addUser(ROOT.username, ROOT.password);
    await etcd.auth.addRole('root');
    await etcd.auth.grantRole('root', 'root');
    await etcd.auth.addUser('bob', BOB_PASSWORD);
    await etcd.auth.addRole('bob-app');
    await etcd.auth.grantPermission('bob-app', 'readwrite', { prefix: 'bob/' });
    await etcd.auth.grantRole('bob', 'bob-app');
    await etcd.auth.enable();
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
    await using session = await bob.session({ ttl: 2 });
    const lock = await bob.lock(`bob/${uniquePrefix('lock')}l`, { session });
    await sleep(6_500);
    assert.equal(session.lease.lost.aborted, false, String(session.lease.lost.reason));
    const owner = await bob.txn().if(lock.isOwner()).commit();
    assert.equal(owner.succeeded, true, 'still the owner after 3 TTLs');
    await lock.unlock();
  });

  test('a lease outlives a password change of its user: the password source gives the new one and the token is renewed', async () => {
    const root = new Etcd({ endpoints: endpoints(), auth: ROOT });
    await root.auth.addUser('carol', 'carol-old');
    await root.auth.grantRole('carol', 'bob-app');
    let password = 'carol-old';
    const carol = new Etcd({ endpoints: endpoints(), auth: { username: 'carol', password: () => password } });
    const lease = await carol.grant(3);
    await carol.put(`bob/${uniquePrefix('carol')}k`, 'v', { lease });
    // etcd drops every token of a user whose password changes.
    password = 'carol-new';
    await root.auth.changePassword('carol', password);
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

  test('auth.status() answers for any user, root or not, and for a client without credentials', async () => {
    const root = new Etcd({ endpoints: endpoints(), auth: ROOT });
    const bob = new Etcd({ endpoints: endpoints(), auth: { username: 'bob', password: BOB_PASSWORD } });
    const nobody = new Etcd({ endpoints: endpoints() });
    assert.deepEqual(await root.auth.status(), { enabled: true });
    assert.deepEqual(await bob.auth.status(), { enabled: true });
    assert.deepEqual(await nobody.auth.status(), { enabled: true });
  });

  test('auth.status() asks /v3/auth/status where etcd serves it (3.5+) and falls back to the user list on 3.4 only', async () => {
    const version = versionUnderTest();
    const serves = version !== undefined && !version.startsWith('3.4');
    for (const auth of [ROOT, { username: 'bob', password: BOB_PASSWORD }, undefined]) {
      const paths: string[] = [];
      const fetch: FetchLike = (request, init) => {
        paths.push(new URL(request.url).pathname);
        return globalThis.fetch(request, init);
      };
      const etcd = new Etcd({ endpoints: endpoints(), fetch, ...(auth ? { auth } : {}) });
      assert.deepEqual(await etcd.auth.status(), { enabled: true });
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
      assert.match((await etcd.maintenance.status()).version, /^3\./);
      assert.equal((await etcd.cluster.members()).members.length, 1);
    }
    const nobody = new Etcd({ endpoints: endpoints() });
    if (versionUnderTest() === undefined) {
      // Debian's 3.4.23 answers both without a token.
      assert.match((await nobody.maintenance.status()).version, /^3\./);
      assert.equal((await nobody.cluster.members()).members.length, 1);
      return;
    }
    await assert.rejects(nobody.maintenance.status(), UnauthenticatedError);
    await assert.rejects(nobody.cluster.members(), UnauthenticatedError);
  });

  test('alarms: any user may list them, only root may disarm or downgrade; without a token, nothing on a fixed etcd', async () => {
    const bob = new Etcd({ endpoints: endpoints(), auth: { username: 'bob', password: BOB_PASSWORD } });
    const root = new Etcd({ endpoints: endpoints(), auth: ROOT });
    const nobody = new Etcd({ endpoints: endpoints() });
    const { leader } = await root.maintenance.status();
    const alarm = { memberId: leader, alarm: 'NOSPACE' } as const;
    assert.deepEqual(await bob.maintenance.alarms(), []);
    assert.deepEqual(await root.maintenance.disarm(alarm), []);
    if (versionUnderTest() === undefined) {
      // Debian's 3.4.23 lists and disarms alarms for anyone, and has no downgrade route.
      assert.deepEqual(await nobody.maintenance.alarms(), []);
      assert.deepEqual(await nobody.maintenance.disarm(alarm), []);
      return;
    }
    await assert.rejects(bob.maintenance.disarm(alarm), PermissionDeniedError);
    await assert.rejects(nobody.maintenance.alarms(), UnauthenticatedError);
    await assert.rejects(nobody.maintenance.disarm(alarm), UnauthenticatedError);
    if (gatewayVersion() === undefined && versionUnderTest() !== '3.4') {
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
    await etcd.auth.addUser(ROOT.username, ROOT.password);
    await etcd.auth.addRole('root');
    await etcd.auth.grantRole('root', 'root');
    await etcd.auth.addUser('bob', BOB_PASSWORD);
    await etcd.auth.enable();
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
