// What each etcd version answers on the wire (imitated in front of the real 3.4.23 by
// test/helpers/version-gateway.ts), and that the client turns every one of those shapes into the
// same typed error.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  Etcd,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
} from 'etcd-fetch';
import {
  authEnable,
  authenticate,
  authStatus,
  downgrade,
  hashKV,
  roleAdd,
  status,
  userAdd,
  userGrantRole,
} from 'etcd-fetch/admin';
import { useEtcd } from '../helpers/etcd.ts';
import { type GatewayVersion, startVersionGateway, type VersionGateway } from '../helpers/version-gateway.ts';

const etcdUnderTest = useEtcd({ ownServer: true });
const ROOT_PASSWORD = 'root-Pw-9';
type Target = { version: GatewayVersion | 'debian'; endpoint: string };

async function raw(endpoint: string, path: string, body: string, init: RequestInit = {}) {
  const response = await fetch(`${endpoint}${path}`, { method: 'POST', body, ...init });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    headers: response.headers,
    text: await response.text(),
  };
}

/** The real etcd, then every imitation in front of it (closed when the test ends). */
async function everyVersion(use: (target: Target) => Promise<void>): Promise<void> {
  await use({ version: 'debian', endpoint: etcdUnderTest.upstream });
  for (const version of ['3.4', '3.5', '3.6', '3.7'] as const) {
    const gateway: VersionGateway = await startVersionGateway({ upstream: etcdUnderTest.upstream, version });
    try {
      await use({ version, endpoint: gateway.endpoint });
    } finally {
      await gateway.close();
    }
  }
}

const v2 = (version: Target['version']) => version === '3.6' || version === '3.7';

describe('etcd versions on the wire, and the same typed errors from each', () => {
  test('unary error bodies: fields, status codes and spacing per version', async () => {
    await everyVersion(async ({ version, endpoint }) => {
      const answer = await raw(endpoint, '/v3/lease/revoke', '{"ID":"1"}');
      assert.equal(answer.status, 404, version);
      const body = JSON.parse(answer.text) as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(body),
        version === 'debian'
          ? ['error', 'message', 'code']
          : v2(version)
            ? ['code', 'message']
            : ['error', 'code', 'message'],
        version,
      );
      assert.equal(body.message, 'etcdserver: requested lease not found');
      assert.equal(answer.text.includes(', "message"'), v2(version), `${version}: ${answer.text}`);
      // FailedPrecondition: 412 from Debian's bundled gateway 1.6.4, 400 from every upstream release.
      const precondition = await raw(endpoint, '/v3/auth/authenticate', '{"name":"x","password":"y"}');
      assert.equal(precondition.status, version === 'debian' ? 412 : 400, version);

      const etcd = new Etcd({ endpoints: [endpoint] });
      await assert.rejects(etcd.revoke('1'), NotFoundError);
      await assert.rejects(authenticate(etcd, 'x', 'y'), FailedPreconditionError);
    });
  });

  test('unknown paths and wrong methods: text/plain 404/405 up to 3.5, JSON 404/501 from 3.6', async () => {
    await everyVersion(async ({ version, endpoint }) => {
      const unknown = await raw(endpoint, '/v3/kv/nope', '{}');
      const wrongMethod = await fetch(`${endpoint}/v3/kv/range`, { method: 'GET' });
      const wrongText = await wrongMethod.text();
      if (v2(version)) {
        assert.deepEqual([unknown.status, JSON.parse(unknown.text)], [404, { code: 5, message: 'Not Found' }]);
        assert.deepEqual(
          [wrongMethod.status, JSON.parse(wrongText)],
          [501, { code: 12, message: 'Method Not Allowed' }],
        );
      } else {
        assert.deepEqual([unknown.status, unknown.type.startsWith('text/plain')], [404, true], version);
        assert.equal(wrongMethod.status, 405, version);
      }
    });
  });

  test("maintenance/hashkv: a 404 up to 3.4, the real member's HashKV from 3.5 (field names, int64 strings, hash a number; hash_revision from 3.6)", async () => {
    await everyVersion(async ({ version, endpoint }) => {
      const answer = await raw(endpoint, '/v3/maintenance/hashkv', '{"revision":"1"}');
      if (version === 'debian' || version === '3.4') {
        assert.equal(answer.status, 404, version);
        await assert.rejects(hashKV(new Etcd({ endpoints: [endpoint] })), UnimplementedError);
        return;
      }
      assert.equal(answer.status, 200, version);
      const body = JSON.parse(answer.text) as {
        header: Record<string, unknown>;
        hash: unknown;
        compact_revision: unknown;
        hash_revision: unknown;
      };
      // hash_revision is new in 3.6 (seen on the real 3.5.36: absent).
      assert.deepEqual(
        Object.keys(body),
        version === '3.5'
          ? ['header', 'hash', 'compact_revision']
          : ['header', 'hash', 'compact_revision', 'hash_revision'],
        version,
      );
      assert.equal(typeof body.hash, 'number');
      assert.equal(body.compact_revision, '-1');
      assert.equal(body.hash_revision, version === '3.5' ? undefined : '1');
      assert.match(String(body.header.revision), /^\d+$/);
      // Revision 1 is the empty store: the hash of the bucket name alone, on every member.
      assert.equal(body.hash, 1084519789, version);
      const future = await raw(endpoint, '/v3/maintenance/hashkv', '{"revision":"100000"}');
      assert.equal(future.status, 400, version);
      assert.match(future.text, /future revision/);
    });
  });

  test('authStatus() on every version: 3.4 has no such call, the client falls back', async () => {
    await everyVersion(async ({ version, endpoint }) => {
      const answer = await raw(endpoint, '/v3/auth/status', '{}');
      assert.equal(answer.status, version === 'debian' || version === '3.4' ? 404 : 200, version);
      assert.deepEqual(await authStatus(new Etcd({ endpoints: [endpoint] })), { enabled: false }, version);
    });
  });

  test('downgrade: no route up to 3.4; from 3.5 VALIDATE as each line, and ENABLE refused by the imitation, which cannot downgrade', async () => {
    await everyVersion(async ({ version, endpoint }) => {
      const etcd = new Etcd({ endpoints: [endpoint] });
      if (version === 'debian' || version === '3.4') {
        await assert.rejects(downgrade(etcd, 'VALIDATE', '3.3'), UnimplementedError);
        return;
      }
      const minor = Number(version.split('.')[1]);
      const lower = `3.${minor - 1}`;
      assert.equal((await downgrade(etcd, 'VALIDATE', lower)).version, version === '3.5' ? '3.5.0' : version);
      await assert.rejects(downgrade(etcd, 'VALIDATE', version), InvalidArgumentError);
      await assert.rejects(downgrade(etcd, 'ENABLE', lower), UnimplementedError);
      assert.deepEqual((await status(etcd)).downgradeInfo, { enabled: false, targetVersion: '' });
      assert.equal((await status(etcd)).storageVersion, v2(version) ? `${version}.0` : '');
    });
  });

  test('a progress request in a watch body: answered at once by 3.4; from 3.5 dropped while a watcher replays', async () => {
    const key = Buffer.from('vg/progress').toString('base64');
    await new Etcd({ endpoints: [etcdUnderTest.upstream] }).put('vg/progress', 'v');
    await everyVersion(async ({ version, endpoint }) => {
      const progressAnswers = async (create: object) => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 1_000);
        let text = '';
        try {
          const response = await fetch(`${endpoint}/v3/watch`, {
            method: 'POST',
            body: `${JSON.stringify({ create_request: create })}\n{"progress_request":{}}`,
            signal: controller.signal,
          });
          const reader = response.body!.getReader();
          for (let read = await reader.read(); !read.done; read = await reader.read())
            text += Buffer.from(read.value).toString();
        } catch (error) {
          if (!controller.signal.aborted) throw error;
        } finally {
          clearTimeout(timer);
        }
        return text.split('\n').filter((line) => /"watch_id":"-1"/.test(line) && !/"created"/.test(line)).length;
      };
      const early = version === 'debian' || version === '3.4';
      const [current, replaying] = await Promise.all([
        progressAnswers({ key }),
        progressAnswers({ key, start_revision: '1' }),
      ]);
      assert.equal(current, 1, `${version}: every watcher current`);
      assert.equal(replaying, early ? 1 : 0, `${version}: a replay`);
    });
  });

  test("upstream 3.4.23's gateway drops the connection on any error: a typed UnavailableError, not a hang", async () => {
    const gateway = await startVersionGateway({ upstream: etcdUnderTest.upstream, version: '3.4.23' });
    try {
      await assert.rejects(raw(gateway.endpoint, '/v3/lease/revoke', '{"ID":"1"}'), TypeError);
      const started = performance.now();
      const error = await new Etcd({ endpoints: [gateway.endpoint], timeout: 3_000 })
        .revoke('1')
        .catch((e: unknown) => e);
      assert.ok(error instanceof UnavailableError, String(error));
      assert.equal(error.mayHaveApplied, true);
      assert.ok(performance.now() - started < 2_000);
      // Success answers are unchanged.
      assert.equal(await new Etcd({ endpoints: [gateway.endpoint] }).count({ prefix: 'x/' }), 0);
    } finally {
      await gateway.close();
    }
  });

  describe('with authentication on', () => {
    before(async () => {
      const etcd = new Etcd({ endpoints: [etcdUnderTest.upstream] });
      await userAdd(etcd, 'root', ROOT_PASSWORD);
      await roleAdd(etcd, 'root');
      await userGrantRole(etcd, 'root', 'root');
      await authEnable(etcd);
    });

    test('a refused keep-alive stream: its error line per version, the same UnauthenticatedError from the client', async () => {
      const root = new Etcd({
        endpoints: [etcdUnderTest.upstream],
        auth: { username: 'root', password: ROOT_PASSWORD },
      });
      const lease = await root.grant(30, { keepAlive: false });
      try {
        await everyVersion(async ({ version, endpoint }) => {
          const answer = await raw(endpoint, '/v3/lease/keepalive', `{"ID":"${lease.id}"}\n`);
          if (version === 'debian') {
            // Debian's 3.4.23 keeps a lease alive without a token (before the CVE-2026-33413 fix).
            assert.equal(answer.status, 200);
            assert.match(answer.text, /"TTL":"30"/);
            return;
          }
          assert.equal(answer.status, 400, version);
          const message = 'etcdserver: user name is empty';
          if (v2(version)) assert.equal(answer.text, `{"error":{"code":3,"message":"${message}"}}\n`);
          else
            assert.equal(
              answer.text,
              `{"error":{"grpc_code":3,"http_code":400,"message":"${message}","http_status":"Bad Request"}}`,
            );
          const anonymous = new Etcd({ endpoints: [endpoint] });
          await assert.rejects(
            anonymous.keepAliveOnce(lease.id),
            (error: Error) => error instanceof UnauthenticatedError && error.message.endsWith(`etcd said: ${message}`),
          );
          // With the user's token it goes through.
          const withUser = new Etcd({ endpoints: [endpoint], auth: { username: 'root', password: ROOT_PASSWORD } });
          assert.equal(await withUser.keepAliveOnce(lease.id), 30);
        });
      } finally {
        await lease.revoke();
      }
    });

    test('a wrong token: 401 everywhere, with WWW-Authenticate from 3.6', async () => {
      await everyVersion(async ({ version, endpoint }) => {
        const answer = await raw(endpoint, '/v3/kv/range', '{"key":"YQ=="}', {
          headers: { authorization: 'not-a-token.1' },
        });
        assert.equal(answer.status, 401, version);
        assert.equal(
          answer.headers.get('www-authenticate'),
          v2(version) ? 'etcdserver: invalid auth token' : null,
          version,
        );
        await assert.rejects(
          new Etcd({ endpoints: [endpoint], auth: { token: 'not-a-token.1' } }).get('a'),
          UnauthenticatedError,
        );
      });
    });
  });
});
