// One rule for a watch stream's lines, whether or not a newline ends them: a line that is not
// JSON is a protocol error that ends the watch; a last line cut off by a closed connection (it
// begins as a message does) is a broken connection, and the watch resumes where it was.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Etcd, MalformedResponseError } from 'etcd-fetch';

type Misbehave = (response: ServerResponse, id: string) => void;

const KEY = btoa('w');
const BOUND_MS = 8_000;
let server: Server;
let endpoint = '';
/** What each connection does after `created`, in turn (the last one repeats). */
let script: Misbehave[] = [];
/** Request bodies received, one per watch stream. */
let bodies: string[] = [];

before(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      bodies.push(body);
      const id = /"watch_id":"?(\d+)/.exec(body)?.[1] ?? '0';
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(`{"result":{"header":{"revision":"5"},"watch_id":"${id}","created":true}}\n`);
      script[Math.min(bodies.length - 1, script.length - 1)]!(response, id);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const good: Misbehave = (response, id) =>
  response.write(
    `{"result":{"header":{"revision":"6"},"watch_id":"${id}","events":[{"kv":{"key":"${KEY}","value":"${btoa('v')}","create_revision":"6","mod_revision":"6","version":"1"}}]}}\n`,
  );

/** The first event's value, or the error the watch ended with, within `BOUND_MS`. */
async function outcome(): Promise<{ value?: string; error?: unknown; reconnects: number }> {
  const etcd = new Etcd({ endpoints: endpoint, timeout: 2_000 });
  const watch = etcd.watch({ key: 'w' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the watch neither delivered nor ended within ${BOUND_MS} ms (${bodies.length} streams)`)),
      BOUND_MS,
    );
  });
  try {
    const next = await Promise.race([watch[Symbol.asyncIterator]().next(), bound]);
    return { value: next.done ? undefined : next.value.kv.valueText, reconnects: watch.reconnects };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('the watch neither')) throw error;
    return { error, reconnects: watch.reconnects };
  } finally {
    clearTimeout(timer);
    watch.close();
    etcd.close();
  }
}

describe('a watch stream line that is not JSON, or cut off', () => {
  const notJson: Array<[string, Misbehave]> = [
    ['followed by a newline', (response) => response.write('<html>proxy error</html>\n')],
    ['as the last line, without a newline', (response) => response.end('<html>proxy error</html>')],
  ];
  for (const [how, misbehave] of notJson) {
    test(`a line that is not JSON ${how} ends the watch with MalformedResponseError, not retried`, async () => {
      bodies = [];
      script = [misbehave, good];
      const result = await outcome();
      assert.ok(
        result.error instanceof MalformedResponseError,
        `MalformedResponseError, got ${String(result.error ?? result.value)}`,
      );
      assert.match(result.error.message, /not JSON/);
      assert.equal(result.reconnects, 0);
      assert.equal(bodies.length, 1);
    });
  }

  test('a last message cut off by a closed connection is a broken connection: the watch resumes after the last revision and delivers', async () => {
    bodies = [];
    script = [(response) => response.end('{"result":{"header":{"revision":"6"},"events":[{"kv":{"key":'), good];
    const result = await outcome();
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.value, 'v');
    assert.ok(result.reconnects >= 1);
    // Created at revision 5, nothing delivered: the second stream starts at 6.
    assert.match(bodies[1]!, /"start_revision":"?6/);
  });
});
