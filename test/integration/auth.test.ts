import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Etcd, PermissionDeniedError, UnauthenticatedError } from 'etcd-fetch';
import {
  authDisable,
  authEnable,
  authenticate,
  authStatus,
  roleAdd,
  roleDelete,
  roleGet,
  roleGrantPermission,
  roleList,
  roleRevokePermission,
  snapshot,
  userAdd,
  userChangePassword,
  userDelete,
  userGet,
  userGrantRole,
  userList,
  userRevokeRole,
} from 'etcd-fetch/admin';
import { useEtcd } from '../helpers/etcd.ts';

// Its own etcd: enabling authentication affects every client of a server. Tokens expire after
// 3 idle seconds, so the expiry test needs no long waits.
const etcdUnderTest = useEtcd({ ownServer: true, args: ['--auth-token-ttl', '3'] });
const ROOT_PASSWORD = 'r00t-Secret-pw';
const ALICE_PASSWORD = 'alice-Secret-pw';
const endpoints = () => [etcdUnderTest.endpoint];
const asRoot = (fetch?: typeof globalThis.fetch) =>
  new Etcd({
    endpoints: endpoints(),
    auth: { username: 'root', password: ROOT_PASSWORD },
    ...(fetch ? { fetch } : {}),
  });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fetch that counts the authentications sent through it. */
function countingAuthentications(): { fetch: typeof fetch; count: number } {
  const counter = {
    count: 0,
    fetch: ((input: Request, init?: RequestInit) => {
      if (input.url.endsWith('/v3/auth/authenticate')) counter.count++;
      return fetch(input, init);
    }) as typeof fetch,
  };
  return counter;
}

describe('authentication against a real etcd', () => {
  before(async () => {
    // The seed flow: root user, root role, grant, enable; all before authentication exists.
    const etcd = new Etcd({ endpoints: endpoints() });
    assert.deepEqual(await authStatus(etcd), { enabled: false });
    await userAdd(etcd, 'root', ROOT_PASSWORD);
    await roleAdd(etcd, 'root');
    await userGrantRole(etcd, 'root', 'root');
    await authEnable(etcd);
    assert.deepEqual(await authStatus(etcd), { enabled: true });
  });

  test('a client with a user and password authenticates by itself and sends the token', async () => {
    const etcd = asRoot();
    await etcd.put('seed/key', 'value');
    assert.equal((await etcd.get('seed/key'))?.valueText, 'value');
    const token = await authenticate(etcd, 'root', ROOT_PASSWORD);
    const withToken = new Etcd({ endpoints: endpoints(), auth: { token } });
    assert.equal((await withToken.get('seed/key'))?.valueText, 'value');
  });

  test('no token, a wrong password and a wrong token are UnauthenticatedError', async () => {
    await assert.rejects(new Etcd({ endpoints: endpoints() }).get('seed/key'), UnauthenticatedError);
    await assert.rejects(
      new Etcd({ endpoints: endpoints(), auth: { username: 'root', password: 'wrong' } }).get('seed/key'),
      UnauthenticatedError,
    );
    await assert.rejects(
      new Etcd({ endpoints: endpoints(), auth: { token: 'not-a-token' } }).get('seed/key'),
      UnauthenticatedError,
    );
  });

  test("a client without credentials on an auth-enabled etcd is told to pass auth, with etcd's code and message kept", async () => {
    const anonymous = new Etcd({ endpoints: endpoints() });
    const says = (error: unknown) => {
      assert.ok(error instanceof UnauthenticatedError, String(error));
      assert.match(error.message, /^this etcd has auth enabled: pass `auth`/);
      assert.match(error.message, /etcdserver: user name is empty/);
      assert.equal(error.code, 3);
      return true;
    };
    await assert.rejects(anonymous.get('seed/key'), says);
    await assert.rejects(anonymous.put('seed/key', 'x'), says);
    // The watch stream's refusal (HTTP 200, a canceled watcher) says the same.
    const watch = anonymous.watch({ key: 'seed/key', signal: AbortSignal.timeout(10_000) });
    await assert.rejects(
      (async () => {
        for await (const _ of watch) break;
      })(),
      says,
    );
    await anonymous.close();
  });

  test('a user gets exactly the permissions of its roles: others are PermissionDeniedError', async () => {
    const root = asRoot();
    await userAdd(root, 'alice', ALICE_PASSWORD);
    await roleAdd(root, 'app');
    await roleGrantPermission(root, 'app', 'readwrite', { prefix: 'app/' });
    await roleGrantPermission(root, 'app', 'read', { key: 'config' });
    await userGrantRole(root, 'alice', 'app');
    await root.put('config', 'c');
    await root.put('secret', 's');

    const alice = new Etcd({ endpoints: endpoints(), auth: { username: 'alice', password: ALICE_PASSWORD } });
    await alice.put('app/x', '1');
    assert.equal((await alice.get('app/x'))?.valueText, '1');
    assert.equal((await alice.get('config'))?.valueText, 'c');
    await assert.rejects(alice.put('config', 'changed'), PermissionDeniedError);
    await assert.rejects(alice.get('secret'), PermissionDeniedError);
    await assert.rejects(userList(alice), PermissionDeniedError);

    assert.deepEqual(await userGet(root, 'alice'), { name: 'alice', roles: ['app'] });
    assert.deepEqual((await userList(root)).sort(), ['alice', 'root']);
    assert.deepEqual((await roleList(root)).sort(), ['app', 'root']);
    const text = new TextEncoder();
    assert.deepEqual((await roleGet(root, 'app')).permissions, [
      { type: 'readwrite', key: text.encode('app/'), rangeEnd: text.encode('app0') },
      { type: 'read', key: text.encode('config'), rangeEnd: undefined },
    ]);

    await roleRevokePermission(root, 'app', { key: 'config' });
    await assert.rejects(alice.get('config'), PermissionDeniedError);
    await userRevokeRole(root, 'alice', 'app');
    await assert.rejects(alice.get('app/x'), PermissionDeniedError);

    await userChangePassword(root, 'alice', 'new-pw');
    await assert.rejects(
      new Etcd({ endpoints: endpoints(), auth: { username: 'alice', password: ALICE_PASSWORD } }).get('app/x'),
      UnauthenticatedError,
    );
    await userDelete(root, 'alice');
    await roleDelete(root, 'app');
    assert.deepEqual(await userList(root), ['root']);
  });

  test('tokens expiring during a stream of calls cost zero failed calls and one shared re-authentication each', async (t) => {
    const authenticating = countingAuthentications();
    const etcd = asRoot(authenticating.fetch);
    const rounds = 3;
    let failed = 0;
    let succeeded = 0;
    for (let round = 0; round < rounds; round++) {
      const calls = Array.from({ length: 10 }, (_, i) =>
        i % 2 ? etcd.put(`stream/${i}`, String(round)) : etcd.get(`stream/${i}`),
      );
      for (const outcome of await Promise.allSettled(calls)) outcome.status === 'fulfilled' ? succeeded++ : failed++;
      // Idle past the token TTL (3 s): the next round starts with an expired token.
      if (round < rounds - 1) await sleep(4_500);
    }
    t.diagnostic(`${succeeded} calls succeeded, ${failed} failed, ${authenticating.count} authentications`);
    assert.equal(failed, 0);
    assert.equal(succeeded, rounds * 10);
    assert.ok(authenticating.count >= 2, `the token expired and was renewed (${authenticating.count} authentications)`);
    assert.ok(
      authenticating.count <= rounds,
      `concurrent callers shared each authentication (${authenticating.count} for ${rounds} rounds)`,
    );
  });

  test('a snapshot asked for with an expired token renews it once and streams', async () => {
    const authenticating = countingAuthentications();
    const etcd = asRoot(authenticating.fetch);
    await etcd.get('seed/key');
    // Idle past the token TTL (3 s): the snapshot stream is refused once for the stale token.
    await sleep(4_500);
    const stream = await snapshot(etcd);
    const size = (await new Response(stream).arrayBuffer()).byteLength;
    assert.ok(size > 32, `a database came (${size} bytes)`);
    assert.equal(authenticating.count, 2);
    await assert.rejects(snapshot(new Etcd({ endpoints: endpoints() })), UnauthenticatedError);
  });

  test('the password and the token never show in JSON, inspect, toString or error messages', async () => {
    const etcd = asRoot();
    await etcd.get('seed/key');
    const token = await authenticate(etcd, 'root', ROOT_PASSWORD);
    const withToken = new Etcd({ endpoints: endpoints(), auth: { token } });
    const wrong = new Etcd({ endpoints: endpoints(), auth: { username: 'root', password: 'Wrong-Secret-pw' } });
    const error = await wrong.get('x').catch((e: unknown) => e);
    const badToken = await new Etcd({ endpoints: endpoints(), auth: { token: 'Bad-Secret-token' } })
      .get('x')
      .catch((e: unknown) => e);
    for (const dump of [
      JSON.stringify(etcd),
      JSON.stringify(withToken),
      inspect(etcd, { depth: 20, showHidden: true }),
      inspect(withToken, { depth: 20, showHidden: true }),
      String(etcd),
      inspect(error, { depth: 20 }),
      inspect(badToken, { depth: 20 }),
      JSON.stringify(error),
    ]) {
      for (const secret of [ROOT_PASSWORD, token, 'Wrong-Secret-pw', 'Bad-Secret-token'])
        assert.equal(dump.includes(secret), false, `found a secret in ${dump.slice(0, 200)}`);
    }
  });

  test('disabling authentication: a password client carries on without a token', async () => {
    const etcd = asRoot();
    await etcd.put('seed/before', '1');
    await authDisable(etcd);
    assert.deepEqual(await authStatus(etcd), { enabled: false });
    await etcd.put('seed/after', '2');
    assert.equal((await new Etcd({ endpoints: endpoints() }).get('seed/after'))?.valueText, '2');
    await authEnable(etcd);
    await etcd.put('seed/again', '3');
    await assert.rejects(new Etcd({ endpoints: endpoints() }).get('seed/again'), UnauthenticatedError);
  });
});
