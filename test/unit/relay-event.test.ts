import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MalformedResponseError } from '../../src/core/errors.ts';
import { KeyValue } from '../../src/core/key-value.ts';
import { decodeRelayEvent, encodeRelayEvent, eventId, resumePoint } from '../../src/relay/relay-event.ts';

const kv = (key: Uint8Array, value: Uint8Array) => new KeyValue(key, value, 3, 7, 2, '0');
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('relay event format', () => {
  test('UTF-8 keys and values travel as text, others as base64, and both round-trip', () => {
    const text = {
      type: 'put' as const,
      revision: 7,
      kv: kv(utf8('app/é'), utf8('{"a":1}')),
      prevKv: kv(utf8('app/é'), utf8('old')),
    };
    const data = encodeRelayEvent(text);
    assert.match(data, /"key":"app\/é"/);
    assert.deepEqual(decodeRelayEvent(data), text);
    const binary = { type: 'delete' as const, revision: 9, kv: kv(new Uint8Array([0xff, 0]), new Uint8Array([0xc3])) };
    const encoded = encodeRelayEvent(binary);
    assert.match(encoded, /"base64":"\/wA="/);
    assert.deepEqual(decodeRelayEvent(encoded), binary);
  });

  test('a malformed event is a MalformedResponseError', () => {
    assert.throws(() => decodeRelayEvent('{"type":"put"'), MalformedResponseError);
    assert.throws(() => decodeRelayEvent('{"type":"other","revision":1,"kv":{}}'), MalformedResponseError);
    assert.throws(
      () => decodeRelayEvent('{"type":"put","revision":1,"kv":{"key":{"hex":"00"},"value":""}}'),
      MalformedResponseError,
    );
  });

  test('ids resume exactly: after a whole revision, or inside one', () => {
    assert.equal(eventId(12, 0, true), '12');
    assert.equal(eventId(12, 1, false), '12.1');
    assert.deepEqual(resumePoint('12'), { startRevision: 13, skip: 0 });
    assert.deepEqual(resumePoint('12.1'), { startRevision: 12, skip: 2 });
    assert.equal(resumePoint(''), undefined);
    assert.equal(resumePoint(null), undefined);
    assert.equal(resumePoint('abc'), undefined);
  });
});
