import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MalformedResponseError } from '../../src/core/errors.ts';
import { LineSplitter, readJsonLines } from '../../src/core/lines.ts';

// Recorded from `POST /v3/watch` on etcd 3.4.23: created, a put of "héllo" = "wörld", a delete,
// and the stream error etcd sends without a trailing newline when it stops.
const recorded = [
  '{"result":{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"1","raft_term":"2"},"created":true}}\n',
  '{"result":{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"2","raft_term":"2"},"events":[{"kv":{"key":"aMOpbGxv","create_revision":"2","mod_revision":"2","version":"1","value":"d8O2cmxk"}}]}}\n',
  '{"result":{"header":{"revision":"3"},"events":[{"type":"DELETE","kv":{"key":"aMOpbGxv","mod_revision":"3"}}]}}\n',
  '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}',
].join('');
const bytes = new TextEncoder().encode(recorded);
const expected = recorded.split('\n').map((line) => JSON.parse(line));

function splitAt(offsets: number[]): unknown[] {
  const splitter = new LineSplitter();
  const out: unknown[] = [];
  let start = 0;
  for (const end of [...offsets, bytes.length]) {
    for (const line of splitter.feed(bytes.subarray(start, end))) out.push(JSON.parse(line));
    start = end;
  }
  for (const line of splitter.end()) out.push(JSON.parse(line));
  return out;
}

describe('NDJSON framing', () => {
  test('the same messages come out whatever the chunk boundaries, even inside a UTF-8 character', () => {
    for (let i = 0; i <= bytes.length; i++) assert.deepEqual(splitAt([i]), expected, `split at ${i}`);
  });

  test('one byte per chunk', () => {
    assert.deepEqual(splitAt(Array.from({ length: bytes.length }, (_, i) => i)), expected);
  });

  test('blank lines are skipped and a final line without newline is kept', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.feed(new TextEncoder().encode('\n{"a":1}\n\n{"b"')), ['{"a":1}']);
    assert.deepEqual(splitter.feed(new TextEncoder().encode(':2}')), []);
    assert.deepEqual(splitter.end(), ['{"b":2}']);
  });

  test('a line longer than the bound is a typed error, not unbounded memory', () => {
    const splitter = new LineSplitter(1024);
    assert.throws(() => splitter.feed(new Uint8Array(2048).fill(0x61)), MalformedResponseError);
  });

  test('an over-long line the hook accepts is skipped up to its newline without being kept; the next lines come through', () => {
    const seen: string[] = [];
    const splitter = new LineSplitter(1024, (start) => (seen.push(start.slice(0, 9)), true));
    const encode = (text: string) => new TextEncoder().encode(text);
    assert.deepEqual(splitter.feed(encode(`{"a":1}\n{"long":"${'é'.repeat(1100)}`)), ['{"a":1}']);
    assert.deepEqual(seen, ['{"long":"']);
    // A split character at the cut, then more of the line: dropped, not decoded.
    assert.deepEqual(splitter.feed(new Uint8Array([0xc3])), []);
    assert.deepEqual(splitter.feed(new Uint8Array(4096).fill(0x61)), []);
    assert.deepEqual(splitter.feed(encode('aé"}\n{"b":2}\n{"c"')), ['{"b":2}']);
    assert.deepEqual(splitter.end(), ['{"c"']);
    assert.throws(
      () => new LineSplitter(1024, () => false).feed(new Uint8Array(2048).fill(0x61)),
      MalformedResponseError,
    );
  });

  test('readJsonLines reads a ReadableStream and reports bad JSON as MalformedResponseError', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"ok":1}\n{"broken'));
        controller.enqueue(new TextEncoder().encode('\n'));
        controller.close();
      },
    });
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const message of readJsonLines(body)) seen.push(message);
    }, MalformedResponseError);
    assert.deepEqual(seen, [{ ok: 1 }]);
  });

  test('stopping early cancels the body', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('{"n":1}\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _ of readJsonLines(body)) break;
    assert.equal(cancelled, true);
  });
});
