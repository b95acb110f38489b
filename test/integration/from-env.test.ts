// new Etcd(optionsFromEnv(...)) against a real etcd with authentication on: a user and password, a token, a
// wrong password (a typed error from etcd), and Deno reading Deno.env.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { Etcd, optionsFromEnv, UnauthenticatedError } from 'etcd-fetch';
import { authEnable, authenticate, roleAdd, userAdd, userGrantRole } from 'etcd-fetch/admin';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { runProcess } from '../helpers/run-process.ts';

const root = resolve(import.meta.dirname, '../..');
const etcdUnderTest = useEtcd({ ownServer: true });
const ROOT = { username: 'root', password: 'env-Pw-1' };
const fromEnv = closedAfter((env: Record<string, string>) => new Etcd(optionsFromEnv(env)));

describe('new Etcd(optionsFromEnv(...)) against etcd with authentication on', () => {
  before(async () => {
    await using admin = new Etcd({ endpoints: etcdUnderTest.endpoint });
    await userAdd(admin, ROOT.username, ROOT.password);
    await roleAdd(admin, 'root');
    await userGrantRole(admin, 'root', 'root');
    await authEnable(admin);
  });

  test('ETCD_USERNAME and ETCD_PASSWORD log in; the value written is read back', async () => {
    const etcd = fromEnv({
      ETCD_ENDPOINTS: `http://127.0.0.1:1,${etcdUnderTest.endpoint}`,
      ETCD_USERNAME: ROOT.username,
      ETCD_PASSWORD: ROOT.password,
    });
    const key = `${uniquePrefix('env')}user`;
    await etcd.put(key, 'from env');
    assert.equal((await etcd.get(key))?.valueText, 'from env');
  });

  test('ETCD_TOKEN is sent as is', async () => {
    const token = await authenticate(fromEnv({ ETCD_ENDPOINTS: etcdUnderTest.endpoint }), ROOT.username, ROOT.password);
    const etcd = fromEnv({ ETCD_ENDPOINTS: etcdUnderTest.endpoint, ETCD_TOKEN: token });
    const key = `${uniquePrefix('env')}token`;
    await etcd.put(key, 'by token');
    assert.equal((await etcd.get(key))?.valueText, 'by token');
  });

  test("a wrong ETCD_PASSWORD ends in etcd's typed refusal", async () => {
    const etcd = fromEnv({
      ETCD_ENDPOINTS: etcdUnderTest.endpoint,
      ETCD_USERNAME: ROOT.username,
      ETCD_PASSWORD: 'wrong',
    });
    await assert.rejects(
      etcd.get('any'),
      (error) => error instanceof UnauthenticatedError && /authentication failed/.test(error.message),
    );
  });

  test('Deno reads Deno.env (with --allow-env)', async () => {
    const key = `${uniquePrefix('env')}deno`;
    const script = `import { Etcd, optionsFromEnv } from 'etcd-fetch';
      const etcd = new Etcd(optionsFromEnv());
      await etcd.put(${JSON.stringify(key)}, 'deno');
      console.log('read', (await etcd.get(${JSON.stringify(key)}))?.valueText);
      etcd.close();`;
    const output = await runProcess(resolve(root, 'node_modules/.bin/deno'), ['eval', '--ext=ts', script], {
      ETCD_ENDPOINTS: etcdUnderTest.endpoint,
      ETCD_USERNAME: ROOT.username,
      ETCD_PASSWORD: ROOT.password,
    });
    assert.match(output, /read deno/);
  });
});
