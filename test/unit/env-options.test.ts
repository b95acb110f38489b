// new Etcd(optionsFromEnv(...)) / optionsFromEnv: which variables make which options, and a clear
// InvalidArgumentError naming the variable that is missing or in conflict.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Etcd, InvalidArgumentError, optionsFromEnv } from 'etcd-fetch';

const refusal = (pattern: RegExp) => (error: unknown) =>
  error instanceof InvalidArgumentError && pattern.test(error.message);

describe('options from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['ETCD_ENDPOINTS', 'ETCD_USERNAME', 'ETCD_PASSWORD', 'ETCD_TOKEN']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  test('ETCD_ENDPOINTS alone: a comma-separated list, spaces and empty items dropped, no auth', () => {
    assert.deepEqual(optionsFromEnv({ ETCD_ENDPOINTS: ' http://a:2379, http://b:2379,,' }), {
      endpoints: ['http://a:2379', 'http://b:2379'],
    });
  });

  test('ETCD_USERNAME with ETCD_PASSWORD, or ETCD_TOKEN', () => {
    assert.deepEqual(optionsFromEnv({ ETCD_ENDPOINTS: 'http://a:2379', ETCD_USERNAME: 'bob', ETCD_PASSWORD: 'pw' }), {
      endpoints: ['http://a:2379'],
      auth: { username: 'bob', password: 'pw' },
    });
    assert.deepEqual(optionsFromEnv({ ETCD_ENDPOINTS: 'http://a:2379', ETCD_TOKEN: 't.1' }), {
      endpoints: ['http://a:2379'],
      auth: { token: 't.1' },
    });
  });

  test('reads anything with get(name), as Deno.env', () => {
    const env = new Map([['ETCD_ENDPOINTS', 'http://d:2379']]);
    assert.deepEqual(optionsFromEnv({ get: (name: string) => env.get(name) }), { endpoints: ['http://d:2379'] });
  });

  test('without an argument, reads process.env', () => {
    process.env.ETCD_ENDPOINTS = 'http://from-process:2379';
    process.env.ETCD_TOKEN = 'tok';
    delete process.env.ETCD_USERNAME;
    delete process.env.ETCD_PASSWORD;
    assert.deepEqual(optionsFromEnv(), { endpoints: ['http://from-process:2379'], auth: { token: 'tok' } });
    const etcd = new Etcd(optionsFromEnv());
    assert.deepEqual(etcd.transport.endpoints, ['http://from-process:2379']);
    etcd.close();
  });

  test('a missing or empty ETCD_ENDPOINTS is refused by name', () => {
    assert.throws(() => optionsFromEnv({}), refusal(/^ETCD_ENDPOINTS is not set/));
    assert.throws(() => optionsFromEnv({ ETCD_ENDPOINTS: '' }), refusal(/^ETCD_ENDPOINTS is not set/));
    assert.throws(() => optionsFromEnv({ ETCD_ENDPOINTS: ' , ' }), refusal(/^ETCD_ENDPOINTS names no endpoint/));
    assert.throws(() => new Etcd(optionsFromEnv({ ETCD_USERNAME: 'bob' })), refusal(/^ETCD_ENDPOINTS is not set/));
  });

  test('half a user, or a user and a token, is refused naming the variable', () => {
    const base = { ETCD_ENDPOINTS: 'http://a:2379' };
    assert.throws(
      () => optionsFromEnv({ ...base, ETCD_USERNAME: 'bob' }),
      refusal(/^ETCD_PASSWORD is not set, but ETCD_USERNAME is/),
    );
    assert.throws(
      () => optionsFromEnv({ ...base, ETCD_PASSWORD: 'pw' }),
      refusal(/^ETCD_USERNAME is not set, but ETCD_PASSWORD is/),
    );
    assert.throws(
      () => optionsFromEnv({ ...base, ETCD_USERNAME: 'bob', ETCD_PASSWORD: 'pw', ETCD_TOKEN: 't' }),
      refusal(/ETCD_TOKEN and ETCD_USERNAME\/ETCD_PASSWORD are both set/),
    );
  });

  test('a variable that is not a string (a worker binding of that name) is refused by name', () => {
    assert.throws(
      () => optionsFromEnv({ ETCD_ENDPOINTS: { fetch() {} } }),
      refusal(/^ETCD_ENDPOINTS must be a string, got object/),
    );
  });

  test('an endpoint the client cannot use is refused as any endpoint option is', () => {
    assert.throws(() => new Etcd(optionsFromEnv({ ETCD_ENDPOINTS: 'not a url' })), InvalidArgumentError);
  });

  test('other options pass through, endpoints and auth come from the environment', () => {
    const etcd = new Etcd({ timeout: 1234, ...optionsFromEnv({ ETCD_ENDPOINTS: 'http://e:2379' }) });
    assert.deepEqual(etcd.transport.endpoints, ['http://e:2379']);
    etcd.close();
  });
});

describe('options from the environment, bad sources', () => {
  test('an environment that is not an object is refused', () => {
    assert.throws(
      () => optionsFromEnv('ETCD_ENDPOINTS=x' as never),
      refusal(/^the environment must be an object, got string/),
    );
    assert.throws(() => optionsFromEnv(null as never), refusal(/^the environment must be an object, got null/));
  });
});
