import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readBoundedText } from '../../src/core/bounded-body.ts';
import { MalformedResponseError } from '../../src/core/errors.ts';

function chunked(chunks: Uint8Array[], headers: Record<string, string> = {}): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    }),
    { headers },
  );
}

describe('bounded answer bodies', () => {
  test('UTF-8 split across chunks decodes exactly', async () => {
    const bytes = new TextEncoder().encode('{"v":"é漢🙂"}');
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
    assert.equal(await readBoundedText(chunked(chunks), 1_000), '{"v":"é漢🙂"}');
  });

  test('a body of exactly the limit is read; one byte more is refused and the stream cancelled', async () => {
    assert.equal(await readBoundedText(chunked([new Uint8Array(10).fill(0x61)]), 10), 'a'.repeat(10));
    let cancelled = false;
    const endless = new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(new Uint8Array(4).fill(0x61));
        },
        cancel() {
          cancelled = true;
        },
      }),
    );
    await assert.rejects(readBoundedText(endless, 10), MalformedResponseError);
    assert.ok(cancelled);
  });

  test('a declared Content-Length above the limit is refused before reading', async () => {
    await assert.rejects(readBoundedText(chunked([], { 'content-length': '11' }), 10), MalformedResponseError);
  });

  test('a small Content-Length does not bound a gzip body: its decoded bytes are counted while reading', async () => {
    let pulled = 0;
    // What fetch hands over for a gzip answer: the declared length is the compressed one.
    const inflating = new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += 16;
          controller.enqueue(new Uint8Array(16).fill(0x61));
          if (pulled >= 1_000) controller.close();
        },
      }),
      { headers: { 'content-length': '20', 'content-encoding': 'gzip' } },
    );
    await assert.rejects(readBoundedText(inflating, 50), MalformedResponseError);
    assert.ok(pulled <= 100, `pulled ${pulled} bytes`);
  });

  test('an empty body is the empty string', async () => {
    assert.equal(await readBoundedText(new Response(null), 10), '');
  });
});
