// No token or password is reachable from any public object, however it is looked at: every
// object of a client in use (client, namespace, transport, watch, lease, session, lock,
// election, reflector, STM, relay pool, and what hangs off them) is printed with the runtime's
// inspect at any depth (hidden properties and getters too), JSON.stringify and String, and
// every string reachable through its properties is checked, with each auth style, against a
// real etcd with authentication on, in Node, Deno and Bun (test/runtimes/secrets-walk.js).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { useEtcd } from '../helpers/etcd.ts';
import { runProcess } from '../helpers/run-process.ts';
import { lib } from '../runtimes/library.ts';
import { authFor } from '../runtimes/secrets-auth.js';
import { findLeaks } from '../runtimes/secrets-walk.js';

const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => resolve(root, 'node_modules/.bin', name);
const etcdUnderTest = useEtcd({ ownServer: true });
const PASSWORD = 'Pw-Secret-4471-inspect';
/** etcd's simple tokens: 16 letters, a dot, a raft index. */
const TOKEN_PATTERN = '[A-Za-z]{16}\\.[0-9]+';
const STYLES = ['password', 'password function', 'static token'];
let token = '';

const env = () => ({
  ETCD_ENDPOINT: etcdUnderTest.endpoint,
  SECRET_PASSWORD: PASSWORD,
  SECRET_TOKEN: token,
  TOKEN_PATTERN,
});

describe('no secret reachable from any public object', () => {
  before(async () => {
    const admin = new lib.Etcd({ endpoints: etcdUnderTest.endpoint });
    await lib.userAdd(admin, 'root', PASSWORD);
    await lib.roleAdd(admin, 'root');
    await lib.userGrantRole(admin, 'root', 'root');
    await lib.authEnable(admin);
    token = await lib.authenticate(admin, 'root', PASSWORD);
    assert.match(token, new RegExp(`^${TOKEN_PATTERN}$`));
    admin.close();
  });

  for (const style of STYLES) {
    test(`Node (util.inspect at any depth, console.log's default, JSON, String, every property): ${style}`, async () => {
      const { auth, secrets } = authFor(style, PASSWORD, token);
      const view = (value: unknown) =>
        `${inspect(value)}\n${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true, maxArrayLength: null, maxStringLength: null })}`;
      const leaks = await findLeaks(lib, {
        endpoint: etcdUnderTest.endpoint,
        auth,
        secrets,
        tokenPattern: new RegExp(TOKEN_PATTERN),
        view,
        runtime: 'node',
      });
      assert.deepEqual(leaks, []);
    });
  }

  test('Deno (Deno.inspect at any depth), every auth style', async () => {
    const output = await runProcess(
      bin('deno'),
      ['run', '--allow-net', '--allow-env', '--allow-read', 'test/runtimes/secrets-deno.ts'],
      env(),
      90_000,
    );
    assert.match(output, /NO LEAKS/, output.slice(0, 4000));
  });

  test('Bun (Bun.inspect at any depth), every auth style', async () => {
    const output = await runProcess(bin('bun'), ['test/runtimes/secrets-bun.ts'], env(), 90_000);
    assert.match(output, /NO LEAKS/, output.slice(0, 4000));
  });
});
