import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { authStatus, roleGet } from '../../src/admin/auth.ts';
import { memberList } from '../../src/admin/cluster.ts';
import { alarmList, status } from '../../src/admin/maintenance.ts';
import type { AuthOptions } from '../../src/core/auth-token.ts';
import type { FetchLike } from '../../src/core/call-options.ts';
import { createCore } from '../../src/core/client-core.ts';
import {
  InvalidArgumentError,
  LeaseLostError,
  PermissionDeniedError,
  UnavailableError,
} from '../../src/core/errors.ts';
import { streamResult } from '../../src/core/stream-message.ts';
import { Transport } from '../../src/core/transport.ts';
import { grant, keepAliveOnce } from '../../src/lease/lease.ts';

const HEADER =
  '{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"4","raft_term":"2"}';

/** A fetch that answers each path with a recorded body, logging what was asked. */
function recorded(
  answers: Record<string, string | ((request: Request) => Promise<Response> | Response)>,
  log: Request[] = [],
): FetchLike {
  return async (request) => {
    log.push(request);
    const path = new URL(request.url).pathname.replace(/^\/v3/, '');
    const answer = answers[path];
    if (answer === undefined) return new Response('Not Found', { status: 404 });
    if (typeof answer === 'function') return answer(request);
    return new Response(answer, { status: 200 });
  };
}

const transport = (fetch: FetchLike, auth?: AuthOptions) =>
  new Transport({ endpoints: ['http://127.0.0.1:1'], fetch, timeout: 2_000, auth });
/** A client core over a fake gateway. */
const core = (fetch: FetchLike) => createCore({ endpoints: ['http://127.0.0.1:1'], fetch, timeout: 2_000 });

describe('stream messages', () => {
  test('a result line gives its result; an error line throws the typed error', () => {
    assert.deepEqual(streamResult({ result: { ID: '1', TTL: '5' } }, 'e', '/lease/keepalive'), { ID: '1', TTL: '5' });
    assert.throws(
      () =>
        streamResult(
          {
            error: {
              grpc_code: 14,
              http_code: 503,
              message: 'transport is closing',
              http_status: 'Service Unavailable',
            },
          },
          'e',
          '/p',
        ),
      (error: unknown) =>
        error instanceof UnavailableError && error.status === 503 && error.message === 'transport is closing',
    );
  });
});

describe('lease wire decoding', () => {
  test('keep-alive answers: a TTL refreshes, a missing TTL means the lease is gone', async () => {
    const bodies: string[] = [];
    const fetch = recorded({
      '/lease/keepalive': async (request) => {
        const body = await request.text();
        bodies.push(body);
        const id = JSON.parse(body.trim()).ID as string;
        const ttl = id === '2324035561254968383' ? ',"TTL":"20"' : '';
        return new Response(`{"result":{"header":${HEADER},"ID":"${id}"${ttl}}}\n`);
      },
    });
    const client = core(fetch);
    assert.equal(await keepAliveOnce(client, '2324035561254968383'), 20);
    assert.deepEqual(bodies, ['{"ID":"2324035561254968383"}\n']);
    await assert.rejects(keepAliveOnce(client, '123'), LeaseLostError);
    await assert.rejects(keepAliveOnce(client, '12.5'), InvalidArgumentError);
  });

  test('a keep-alive answer for another lease is skipped; none for ours is reported precisely', async () => {
    let answerOurs = true;
    const fetch = recorded({
      '/lease/keepalive': async () => {
        const other = `{"result":{"header":${HEADER},"ID":"777","TTL":"9"}}\n`;
        const ours = `{"result":{"header":${HEADER},"ID":"555","TTL":"30"}}\n`;
        return new Response(answerOurs ? other + ours : other);
      },
    });
    const client = core(fetch);
    assert.equal(await keepAliveOnce(client, '555'), 30);
    answerOurs = false;
    await assert.rejects(keepAliveOnce(client, '555'), (error: Error) =>
      /no answer for lease 555; it answered for lease 777, not asked about/.test(error.message),
    );
  });

  test('grant sends exactly TTL (not ttl) and keeps the 64-bit ID as a string', async () => {
    const sent: unknown[] = [];
    const fetch = recorded({
      '/lease/grant': async (request) => {
        sent.push(await request.json());
        return new Response(`{"header":${HEADER},"ID":"4111120192685646854","TTL":"5"}`);
      },
    });
    const lease = await grant(core(fetch), 5, { keepAlive: false });
    assert.equal(lease.id, '4111120192685646854');
    assert.equal(lease.ttl, 5);
    assert.deepEqual(sent, [{ TTL: '5' }]);
    await assert.rejects(grant(core(fetch), 0), InvalidArgumentError);
  });
});

describe('cluster and maintenance wire decoding', () => {
  test('members keep mixed-case fields and 64-bit IDs', async () => {
    const fetch = recorded({
      '/cluster/member/list': `{"header":${HEADER},"members":[{"ID":"13668033151171901709","name":"p","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]},{"ID":"13809995186600797920","peerURLs":["http://127.0.0.1:23999"],"isLearner":true}]}`,
    });
    const { members } = await memberList(core(fetch));
    assert.deepEqual(members, [
      {
        id: '13668033151171901709',
        name: 'p',
        peerUrls: ['http://127.0.0.1:23801'],
        clientUrls: ['http://127.0.0.1:23791'],
        isLearner: false,
      },
      { id: '13809995186600797920', name: '', peerUrls: ['http://127.0.0.1:23999'], clientUrls: [], isLearner: true },
    ]);
  });

  test('status and alarms', async () => {
    const fetch = recorded({
      '/maintenance/status': `{"header":${HEADER},"version":"3.4.23","dbSize":"20480","leader":"13668033151171901709","raftIndex":"4","raftTerm":"2","raftAppliedIndex":"4","dbSizeInUse":"16384"}`,
      '/maintenance/alarm': `{"header":${HEADER},"alarms":[{"memberID":"13668033151171901709","alarm":"NOSPACE"}]}`,
    });
    const answer = await status(core(fetch));
    assert.equal(answer.dbSize, 20480);
    assert.equal(answer.leader, '13668033151171901709');
    assert.deepEqual(await alarmList(core(fetch)), [{ memberId: '13668033151171901709', alarm: 'NOSPACE' }]);
  });
});

describe('auth', () => {
  test('status on etcd 3.4 (no /auth/status): an anonymous user list tells whether auth is on', async () => {
    const off = recorded({ '/auth/user/list': `{"header":${HEADER},"users":["root"]}` });
    assert.deepEqual(await authStatus(core(off)), { enabled: false });
    const on = recorded({
      '/auth/user/list': () =>
        new Response('{"error":"etcdserver: user name is empty","message":"etcdserver: user name is empty","code":3}', {
          status: 400,
        }),
    });
    assert.deepEqual(await authStatus(core(on)), { enabled: true });
    const v35 = recorded({ '/auth/status': `{"header":${HEADER},"enabled":true,"authRevision":"3"}` });
    assert.deepEqual(await authStatus(core(v35)), { enabled: true });
  });

  test('permissions decode their type (READ is omitted on the wire) and key range', async () => {
    const fetch = recorded({
      '/auth/role/get': `{"header":${HEADER},"perm":[{"permType":"READWRITE","key":"YQ==","range_end":"Yg=="},{"key":"Yw=="}]}`,
    });
    const role = await roleGet(core(fetch), 'r');
    const text = new TextEncoder();
    assert.deepEqual(role.permissions, [
      { type: 'readwrite', key: text.encode('a'), rangeEnd: text.encode('b') },
      { type: 'read', key: text.encode('c'), rangeEnd: undefined },
    ]);
  });

  test('concurrent callers whose token expired share one re-authentication', async () => {
    let authentications = 0;
    let valid = '';
    const fetch = recorded({
      '/auth/authenticate': async () => {
        authentications++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        valid = `token-${authentications}.1`;
        return new Response(`{"header":${HEADER},"token":"${valid}"}`);
      },
      '/kv/range': (request) =>
        request.headers.get('authorization') === valid
          ? new Response(`{"header":${HEADER}}`)
          : new Response(
              '{"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16}',
              { status: 401 },
            ),
    });
    const t = transport(fetch, { username: 'root', password: 'Secret-pw' });
    await Promise.all(Array.from({ length: 10 }, () => t.request('/kv/range', {})));
    assert.equal(authentications, 1);
    valid = 'expired-by-server';
    await Promise.all(Array.from({ length: 10 }, () => t.request('/kv/range', {})));
    assert.equal(authentications, 2);
  });

  test('a user without permission gets PermissionDeniedError without a retry', async () => {
    const log: Request[] = [];
    const fetch = recorded(
      {
        '/auth/authenticate': `{"header":${HEADER},"token":"t.1"}`,
        '/kv/put': () =>
          new Response('{"error":"etcdserver: permission denied","message":"etcdserver: permission denied","code":7}', {
            status: 403,
          }),
      },
      log,
    );
    const t = transport(fetch, { username: 'alice', password: 'pw' });
    await assert.rejects(t.request('/kv/put', {}), PermissionDeniedError);
    assert.equal(log.filter((r) => r.url.endsWith('/kv/put')).length, 1);
  });

  test('secrets stay out of JSON and inspect', () => {
    for (const auth of [{ username: 'root', password: 'Secret-pw' }, { token: 'Secret-token.7' }]) {
      const t = transport(recorded({}), auth);
      for (const dump of [JSON.stringify(t), inspect(t, { depth: 10, showHidden: true })]) {
        assert.equal(/Secret-(pw|token)/.test(dump), false, dump);
      }
    }
  });
});
