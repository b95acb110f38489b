// Every bad input to the client is refused with an InvalidArgumentError before anything is
// sent: one table of options and calls, each with a wrong type, NaN, a negative, huge or empty
// value, or two options that exclude each other.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  alarmList,
  defragment,
  hashKV,
  memberAdd,
  moveLeader,
  roleGrantPermission,
  status,
  userAdd,
} from '../../src/admin/index.ts';
import { lock } from '../../src/concurrency/index.ts';
import type { FetchLike } from '../../src/core/call-options.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { Etcd, type EtcdOptions } from '../../src/index.ts';

const sent: string[] = [];
const fetch: FetchLike = async (request) => {
  sent.push(request.url);
  return new Response('{}');
};
const endpoints = ['http://127.0.0.1:1'];
const client = () => new Etcd({ endpoints, fetch });

/** Client options that must be refused by the constructor. */
const badOptions: Array<[string, unknown]> = [
  ['options null', null],
  ['options a string', 'http://127.0.0.1:2379'],
  ['endpoints null', { endpoints: null }],
  ['endpoints empty', { endpoints: [] }],
  ['endpoints an empty string', { endpoints: '' }],
  ['endpoint a number', { endpoints: [2379] }],
  ['endpoint without scheme', { endpoints: ['127.0.0.1:2379'] }],
  ['endpoint with another scheme', { endpoints: ['ftp://127.0.0.1:2379'] }],
  ['endpoint unparseable', { endpoints: ['http://[::1'] }],
  ['endpoint with a query', { endpoints: ['http://127.0.0.1:2379?q=1'] }],
  ['endpoint with a fragment', { endpoints: ['http://127.0.0.1:2379#frag'] }],
  ['endpoint with a password', { endpoints: ['http://root:pw@127.0.0.1:2379'] }],
  ['timeout NaN', { endpoints, timeout: Number.NaN }],
  ['timeout negative', { endpoints, timeout: -1 }],
  ['timeout zero', { endpoints, timeout: 0 }],
  ['timeout a string', { endpoints, timeout: '10s' }],
  ['timeout infinite', { endpoints, timeout: Number.POSITIVE_INFINITY }],
  ['maxResponseBytes negative', { endpoints, maxResponseBytes: -1 }],
  ['maxResponseBytes a string', { endpoints, maxResponseBytes: 'x' }],
  ['maxResponseBytes NaN', { endpoints, maxResponseBytes: Number.NaN }],
  ['fetch a string', { endpoints, fetch: 'x' }],
  ['discover a string', { endpoints, discover: 'yes' }],
  ['discover.onError a string', { endpoints, discover: { onError: 'x' } }],
  ['circuitBreaker NaN threshold', { endpoints, circuitBreaker: { failureThreshold: Number.NaN } }],
  ['circuitBreaker negative threshold', { endpoints, circuitBreaker: { failureThreshold: -1 } }],
  ['circuitBreaker negative cooldown', { endpoints, circuitBreaker: { cooldown: -5 } }],
  ['circuitBreaker NaN cooldown', { endpoints, circuitBreaker: { cooldown: Number.NaN } }],
  ['batch true', { endpoints, batch: true }],
  ['ordering a string', { endpoints, ordering: 'yes' }],
  ['requireLeader a number', { endpoints, requireLeader: 1 }],
  ['batch.maxOps zero', { endpoints, batch: { maxOps: 0 } }],
  ['batch.maxOps fractional', { endpoints, batch: { maxOps: 1.5 } }],
  ['auth null', { endpoints, auth: null }],
  ['auth a string', { endpoints, auth: 'root:pw' }],
  ['auth without password', { endpoints, auth: { username: 'root' } }],
  ['auth empty username', { endpoints, auth: { username: '', password: 'pw' } }],
  ['auth password a number', { endpoints, auth: { username: 'root', password: 1234 } }],
  ['auth token empty', { endpoints, auth: { token: '' } }],
  ['auth token with a newline', { endpoints, auth: { token: 'abc\nX-Evil: 1' } }],
  ['auth token a number', { endpoints, auth: { token: 42 } }],
];

/** Calls that must be refused before sending. */
const badCalls: Array<[string, (etcd: Etcd) => unknown]> = [
  ['get with an empty key', (e) => e.get('')],
  ['get with a number key', (e) => e.get(5 as never)],
  ['get with a null key', (e) => e.get(null as never)],
  ['range with key and prefix', (e) => e.range({ key: 'a', prefix: 'b' } as never)],
  ['range with prefix and from', (e) => e.range({ prefix: 'a', from: 'b' } as never)],
  ['range with to but no from', (e) => e.range({ to: 'b' } as never)],
  ['range with no selector', (e) => e.range({} as never)],
  ['range with a negative limit', (e) => e.range({ prefix: 'a' }, { limit: -1 })],
  ['range with a NaN limit', (e) => e.range({ prefix: 'a' }, { limit: Number.NaN })],
  ['range with a fractional revision', (e) => e.range({ prefix: 'a' }, { revision: 1.5 })],
  [
    'range with an unknown sort target',
    (e) => e.range({ prefix: 'a' }, { sort: { target: 'size' as never, order: 'ascend' } }),
  ],
  ['count with key and from', (e) => e.count({ key: 'a', from: 'b' } as never)],
  ['put with an empty key', (e) => e.put('', 'v')],
  ['put with an object value', (e) => e.put('k', {} as never)],
  ['put with a bad lease', (e) => e.put('k', 'v', { lease: 'not-a-number' })],
  ['put with a negative lease', (e) => e.put('k', 'v', { lease: -1 })],
  ['delete with key and prefix', (e) => e.del({ key: 'a', prefix: 'b' } as never)],
  ['compact NaN', (e) => e.compact(Number.NaN)],
  ['compact negative', (e) => e.compact(-1)],
  ['a call with timeout NaN', (e) => e.get('k', { timeout: Number.NaN })],
  ['a call with a negative timeout', (e) => e.put('k', 'v', { timeout: -1 })],
  ['a call with a signal that is no AbortSignal', (e) => e.get('k', { signal: {} as never })],
  ['grant NaN', (e) => e.grant(Number.NaN)],
  ['grant zero', (e) => e.grant(0)],
  ['grant fractional', (e) => e.grant(1.5)],
  ['grant with a bad id', (e) => e.grant(5, { id: 'x' })],
  ['revoke a bad id', (e) => e.revoke('12ab')],
  ['timeToLive a bad id', (e) => e.timeToLive(-3)],
  ['watch without options', (e) => e.watch(undefined as never)],
  ['watch with key and prefix', (e) => e.watch({ key: 'a', prefix: 'b' } as never)],
  ['watch with a signal that is no AbortSignal', (e) => e.watch({ prefix: 'a', signal: {} as never })],
  ['watch with a negative start revision', (e) => e.watch({ prefix: 'a', startRevision: -1 })],
  ['watch with a NaN stallTimeout', (e) => e.watch({ prefix: 'a', stallTimeout: Number.NaN })],
  ['watch with a zero maxBufferedEvents', (e) => e.watch({ prefix: 'a', maxBufferedEvents: 0 })],
  [
    'txn with something that is no comparison',
    (e) =>
      e
        .txn()
        .if({} as never)
        .commit(),
  ],
  [
    'txn with something that is no operation',
    (e) =>
      e
        .txn()
        .then({} as never)
        .commit(),
  ],
  ['scan with a zero page size', (e) => e.scan({ prefix: 'a' }, { pageSize: 0 }).next()],
  ['lock with an empty name', (e) => lock(e, '')],
  ['namespace with an empty prefix', (e) => e.namespace('')],
  ['addUser with an empty name', (e) => userAdd(e, '', 'pw')],
  ['grantPermission with an unknown type', (e) => roleGrantPermission(e, 'r', 'all' as never, { prefix: 'a/' })],
  ['addMember with a peer URL that is no URL', (e) => memberAdd(e, ['not a url'])],
  ['status of a member that is neither a client URL nor a member ID', (e) => status(e, { member: 'etcd-1' })],
  ['defragment of member ID 0', (e) => defragment(e, { member: '0' })],
  ['status of a member URL with a query', (e) => status(e, { member: 'http://10.0.0.1:2379/?x=1' })],
  ['alarms of a member that is no ID', (e) => alarmList(e, { member: '-5' })],
  ['moveLeader to a member that is no ID', (e) => moveLeader(e, 'leader')],
  ['hashKV at a negative revision', (e) => hashKV(e, { revision: -1 })],
];

async function refusal(run: () => unknown): Promise<unknown> {
  try {
    const result = run();
    if (result && typeof (result as Promise<unknown>).then === 'function') await result;
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('bad input is refused with InvalidArgumentError before anything is sent', () => {
  for (const [name, options] of badOptions) {
    test(`new Etcd: ${name}`, async () => {
      sent.length = 0;
      const error = await refusal(
        () =>
          new Etcd(
            typeof options === 'object' && options !== null
              ? { fetch, ...(options as EtcdOptions) }
              : (options as EtcdOptions),
          ),
      );
      assert.ok(error instanceof InvalidArgumentError, `${name}: got ${String(error)}`);
      assert.deepEqual(sent, []);
    });
  }

  for (const [name, call] of badCalls) {
    test(name, async () => {
      const etcd = client();
      sent.length = 0;
      const error = await refusal(() => call(etcd));
      assert.ok(error instanceof InvalidArgumentError, `${name}: got ${String(error)}`);
      assert.deepEqual(sent, [], `${name} sent a request`);
    });
  }
});
