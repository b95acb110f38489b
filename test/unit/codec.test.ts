import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkCount,
  decodeBytes,
  decodeId,
  decodeInt,
  encodeBytes,
  encodeId,
  prefixEnd,
  toBytes,
  toTextStrict,
} from '../../src/core/codec.ts';
import { InvalidArgumentError, MalformedResponseError } from '../../src/core/errors.ts';
import { decodeHeader, decodeKeyValue } from '../../src/core/key-value.ts';
import { Keyspace } from '../../src/core/keyspace.ts';

describe('codec', () => {
  test('strings are UTF-8 and bytes pass through untouched', () => {
    assert.deepEqual(toBytes('é'), new Uint8Array([0xc3, 0xa9]));
    const raw = new Uint8Array([0, 0xff, 0xc3]);
    assert.equal(toBytes(raw), raw);
    assert.equal(encodeBytes('foo'), 'Zm9v');
    assert.deepEqual(decodeBytes('AP/D'), raw);
  });

  test('a missing base64 field is the empty byte string', () => {
    assert.equal(decodeBytes(undefined).length, 0);
    assert.equal(decodeBytes('').length, 0);
  });

  test('a key that is neither string nor bytes is a typed error', () => {
    assert.throws(() => toBytes(42 as unknown as string), InvalidArgumentError);
    assert.throws(() => toBytes({} as unknown as string), InvalidArgumentError);
  });

  test('bad base64 in an answer is a MalformedResponseError', () => {
    assert.throws(() => decodeBytes('***'), MalformedResponseError);
    assert.throws(() => decodeBytes(12), MalformedResponseError);
  });

  test('int64 strings become numbers, missing means zero, past 2^53 throws', () => {
    assert.equal(decodeInt('42'), 42);
    assert.equal(decodeInt(undefined), 0);
    assert.equal(decodeInt(7), 7);
    assert.equal(decodeInt('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.throws(() => decodeInt('9007199254740993'), MalformedResponseError);
    assert.throws(() => decodeInt('12abc'), MalformedResponseError);
    assert.throws(() => decodeInt(true), MalformedResponseError);
  });

  test('64-bit IDs stay decimal strings', () => {
    assert.equal(decodeId('2324035561254968383'), '2324035561254968383');
    assert.equal(decodeId(undefined), '0');
    assert.equal(encodeId(12n), '12');
    assert.equal(encodeId('18446744073709551615'), '18446744073709551615');
    assert.throws(() => encodeId('18446744073709551616'), InvalidArgumentError);
    assert.throws(() => encodeId(1.5), InvalidArgumentError);
    assert.throws(() => encodeId('0x10'), InvalidArgumentError);
  });

  test('checkCount refuses negatives and fractions', () => {
    assert.equal(checkCount(3, 'limit'), 3);
    assert.throws(() => checkCount(-1, 'limit'), InvalidArgumentError);
    assert.throws(() => checkCount(1.5, 'limit'), InvalidArgumentError);
    assert.throws(() => checkCount('3', 'limit'), InvalidArgumentError);
  });

  test('prefixEnd increments the last byte below 0xff', () => {
    assert.deepEqual(prefixEnd(toBytes('foo')), toBytes('fop'));
    assert.deepEqual(prefixEnd(new Uint8Array([1, 0xff])), new Uint8Array([2]));
    assert.deepEqual(prefixEnd(new Uint8Array([0xff, 0xff])), new Uint8Array([0]));
  });

  test('toTextStrict tells valid UTF-8 apart', () => {
    assert.equal(toTextStrict(toBytes('ok')), 'ok');
    assert.equal(toTextStrict(new Uint8Array([0xc3])), undefined);
  });

  test('a recorded key-value decodes with zero values filled in', () => {
    const kv = decodeKeyValue({ key: 'Zm9v', create_revision: '2', mod_revision: '6', version: '4', value: 'YmF6' });
    assert.equal(kv.keyText, 'foo');
    assert.equal(kv.valueText, 'baz');
    assert.deepEqual([kv.createRevision, kv.modRevision, kv.version, kv.lease], [2, 6, 4, '0']);
    const deleted = decodeKeyValue({ key: 'Zm9v', mod_revision: '7' });
    assert.deepEqual([deleted.value.length, deleted.version, deleted.createRevision], [0, 0, 0]);
  });

  test('a recorded header decodes; a header-less answer is revision 0', () => {
    const header = decodeHeader({
      cluster_id: '12585971608760269493',
      member_id: '13847567121247652255',
      revision: '2',
      raft_term: '3',
    });
    assert.deepEqual(header, {
      clusterId: '12585971608760269493',
      memberId: '13847567121247652255',
      revision: 2,
      raftTerm: 3,
    });
    assert.equal(decodeHeader(undefined).revision, 0);
  });
});

describe('keyspace', () => {
  const plain = new Keyspace();
  test('selectors encode key, prefix, range and from-key', () => {
    assert.deepEqual(plain.encode({ key: 'foo' }), { key: 'Zm9v' });
    assert.deepEqual(plain.encode({ prefix: 'foo' }), { key: 'Zm9v', range_end: 'Zm9w' });
    assert.deepEqual(plain.encode({ prefix: '' }), { key: 'AA==', range_end: 'AA==' });
    assert.deepEqual(plain.encode({ from: 'a', to: 'b' }), { key: 'YQ==', range_end: 'Yg==' });
    assert.deepEqual(plain.encode({ from: 'a' }), { key: 'YQ==', range_end: 'AA==' });
  });

  test('an empty key and a selector with nothing in it are typed errors', () => {
    assert.throws(() => plain.encode({ key: '' }), InvalidArgumentError);
    assert.throws(() => plain.encode({} as never), InvalidArgumentError);
    assert.throws(() => plain.encode(null as never), InvalidArgumentError);
  });

  test('a prefixed keyspace maps keys in and out and bounds open ranges', () => {
    const ns = new Keyspace(toBytes('app/'));
    assert.deepEqual(ns.encode({ key: 'x' }), { key: encodeBytes('app/x') });
    assert.deepEqual(ns.encode({ prefix: '' }), { key: encodeBytes('app/'), range_end: encodeBytes('app0') });
    assert.deepEqual(ns.encode({ from: 'm' }), { key: encodeBytes('app/m'), range_end: encodeBytes('app0') });
    assert.deepEqual(ns.strip(toBytes('app/x')), toBytes('x'));
  });
});
