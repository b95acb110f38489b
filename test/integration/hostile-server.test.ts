// The client facing a server that misbehaves on purpose: not a stand-in for etcd, but the
// proxies, crashed members and broken networks a client meets in the field.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Etcd, isEtcdError, MalformedResponseError, op, TimeoutError, UnavailableError } from 'etcd-fetch';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);

let server: Server;
let endpoint = '';
let handler: Handler = (_, response) => response.end('{}');
/** Bytes the current handler wrote, to show that a client stops reading an endless answer. */
let written = 0;

before(async () => {
  server = createServer((request, response) => {
    request.resume();
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const etcd of clients) etcd.close();
  process.off('unhandledRejection', onUnhandled);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const DEADLINE = 1_500;
/** Far more than any call needs here; a call still pending after it hangs. */
const HANG = DEADLINE + 3_000;
/**
 * How long past its deadline a call may take to settle on a busy machine (measured: 1-5 ms
 * idle); a deadline that fires a second late exceeds it.
 */
const LATE = 600;

/** Every client the tests made, closed after them. */
const clients: Etcd[] = [];
function client(options: { maxResponseBytes?: number; timeout?: number } = {}): Etcd {
  const etcd = new Etcd({
    endpoints: endpoint,
    timeout: options.timeout ?? DEADLINE,
    maxResponseBytes: options.maxResponseBytes,
  });
  clients.push(etcd);
  return etcd;
}

/** A read and a write, at once: each ends with a TimeoutError at its deadline, not much later. */
async function assertBothTimeOut(): Promise<void> {
  const timed = async (call: (etcd: Etcd) => Promise<unknown>) => {
    const started = performance.now();
    const error = await failure(() => call(client()));
    return { error, ms: performance.now() - started };
  };
  const outcomes = await Promise.all([timed((etcd) => etcd.get('a')), timed((etcd) => etcd.put('a', 'b'))]);
  for (const { error, ms } of outcomes) {
    assert.ok(error instanceof TimeoutError, String(error));
    assert.ok(
      ms >= DEADLINE - 50 && ms <= DEADLINE + LATE,
      `a call with a ${DEADLINE} ms deadline settled after ${Math.round(ms)} ms`,
    );
  }
}

function answer(status: number, body: string, contentType = 'application/json'): Handler {
  return (_, response) => {
    response.writeHead(status, { 'content-type': contentType });
    response.end(body);
  };
}

/** Writes `chunk` as fast as the client takes it, until the client goes away. */
function endless(prefix: string, chunk: string, status = 200): Handler {
  return (_, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.write(prefix);
    let open = true;
    response.on('close', () => (open = false));
    const pump = () => {
      while (open && response.write(chunk)) written += chunk.length;
      if (open) response.once('drain', pump);
    };
    pump();
  };
}

/** The error `call` rejects with; fails the test if it resolves or is still pending after `HANG` ms. */
async function failure(call: () => Promise<unknown>): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the call was still pending after ${HANG} ms`)), HANG);
  });
  try {
    await Promise.race([call(), hang]);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('the call was still pending')) throw error;
    assert.ok(isEtcdError(error), `a typed error, got ${String(error)}`);
    return error;
  } finally {
    clearTimeout(timer);
  }
  assert.fail('the call succeeded against a broken answer');
}

/** A read is retried until its deadline: it ends unavailable, or timed out if the deadline came first. */
function assertUnavailableRead(error: unknown): void {
  assert.ok(error instanceof UnavailableError || error instanceof TimeoutError, String(error));
}

/** A write is sent once: it ends unavailable, and may have been applied. */
async function assertUnavailableWrite(): Promise<void> {
  const error = await failure(() => client().put('a', 'b'));
  assert.ok(error instanceof UnavailableError, String(error));
  assert.equal(error.mayHaveApplied, true);
}

describe('a client facing a misbehaving server', () => {
  test('truncated JSON is a MalformedResponseError', async () => {
    handler = answer(200, '{"header":{"revision":"3"},"kvs":[{"key":"YQ==","val');
    assert.ok((await failure(() => client().get('a'))) instanceof MalformedResponseError);
  });

  test('an answer cut short of its Content-Length is an UnavailableError', async () => {
    handler = (_, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      response.write('{"header":{"revision":"3"},');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    assertUnavailableRead(await failure(() => client().get('a')));
    await assertUnavailableWrite();
  });

  test('wrong types in every kind of answer are MalformedResponseErrors', async () => {
    const cases: Array<[string, (etcd: Etcd) => Promise<unknown>]> = [
      ['{"count":{}}', (etcd) => etcd.count({ prefix: 'a' })],
      ['{"count":"1e400"}', (etcd) => etcd.count({ prefix: 'a' })],
      ['{"count":"99999999999999999999"}', (etcd) => etcd.count({ prefix: 'a' })],
      ['{"kvs":"x"}', (etcd) => etcd.range({ prefix: 'a' })],
      ['{"kvs":[null]}', (etcd) => etcd.range({ prefix: 'a' })],
      ['{"kvs":[{"key":5}]}', (etcd) => etcd.get('a')],
      ['{"kvs":[{"key":"!!not base64!!"}]}', (etcd) => etcd.get('a')],
      ['{"kvs":[{"key":"YQ==","mod_revision":[]}]}', (etcd) => etcd.get('a')],
      ['{"header":"x"}', (etcd) => etcd.put('a', 'b')],
      ['{"header":{"revision":"abc"}}', (etcd) => etcd.put('a', 'b')],
      ['{"prev_kvs":{"a":1}}', (etcd) => etcd.del({ prefix: 'a' }, { prevKv: true })],
      ['{"deleted":true}', (etcd) => etcd.del('a')],
      ['{"succeeded":true,"responses":"x"}', (etcd) => etcd.txn().then().commit()],
      ['{"succeeded":true,"responses":[]}', (etcd) => etcd.txn().then(op.get('a')).commit()],
      ['[]', (etcd) => etcd.get('a')],
      ['null', (etcd) => etcd.get('a')],
      ['"text"', (etcd) => etcd.get('a')],
      ['{"ID":{},"TTL":"5"}', (etcd) => etcd.grant(5, { keepAlive: false })],
    ];
    for (const [body, call] of cases) {
      handler = answer(200, body);
      const error = await failure(() => call(client()));
      assert.ok(error instanceof MalformedResponseError, `${body}: got ${String(error)}`);
    }
  });

  test('reads batched into one txn: a broken txn answer gives every caller a typed error', async () => {
    const answers = [
      '{"succeeded":true,"responses":"x"}',
      '{"succeeded":true,"responses":[{"response_range":{"kvs":"x"}},{"response_range":{"count":{}}},{"response_range":{"count":[]}}]}',
      '{"succeeded":true,"responses":[{"response_range":',
      '{"succeeded":true}',
    ];
    for (const body of answers) {
      handler = (request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        // A read sent again alone after a failed batch gets a broken answer too.
        response.end(request.url === '/v3/kv/txn' ? body : '{"count":{},"kvs":[{"key":{}}]}');
      };
      const etcd = client();
      const errors = await Promise.all(
        [etcd.get('a'), etcd.get('b'), etcd.count({ prefix: 'c' })].map((call) => failure(() => call)),
      );
      for (const error of errors) assert.ok(error instanceof MalformedResponseError, `${body}: got ${String(error)}`);
    }
  });

  test('a 200 with an HTML body is a MalformedResponseError saying it is not JSON', async () => {
    handler = answer(200, '<!doctype html><html><body>Sign in to the corporate proxy</body></html>', 'text/html');
    const error = await failure(() => client().get('a'));
    assert.ok(error instanceof MalformedResponseError);
    assert.match(String(error), /not JSON/);
  });

  test('a 502 or 503 page from a proxy is an UnavailableError', async () => {
    for (const status of [502, 503]) {
      handler = answer(status, '<html>Bad gateway</html>', 'text/html');
      assertUnavailableRead(await failure(() => client().get('a')));
      await assertUnavailableWrite();
    }
  });

  test('an endless line is refused at maxResponseBytes, not buffered without bound', async () => {
    written = 0;
    handler = endless('{"header":{"revision":"', 'x'.repeat(16 * 1024));
    const error = await failure(() => client({ maxResponseBytes: 1024 * 1024 }).get('a'));
    assert.ok(error instanceof MalformedResponseError, String(error));
    assert.match(error.message, /longer than 1048576 bytes/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const afterRefusal = written;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(written, afterRefusal, 'the client closed the connection: the server cannot write any more');
  });

  test('a Content-Length above maxResponseBytes is refused before reading', async () => {
    handler = (_, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1 << 30) });
      response.write('{"kvs":[');
    };
    const error = await failure(() => client({ maxResponseBytes: 1024 * 1024 }).get('a'));
    assert.ok(error instanceof MalformedResponseError, String(error));
  });

  test('an endless error body is read only in part and still gives a typed error', async () => {
    handler = endless('{"code":3,"message":"', 'y'.repeat(16 * 1024), 400);
    const error = await failure(() => client().get('a'));
    assert.ok(error instanceof MalformedResponseError, String(error));
    assert.equal(error.status, 400);
  });

  test('very slow bytes: the call times out at its deadline', async () => {
    handler = (_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => response.write(' '), 100);
      response.on('close', () => clearInterval(timer));
    };
    await assertBothTimeOut();
  });

  test('a server that never answers: the call times out at its deadline', async () => {
    handler = () => {};
    await assertBothTimeOut();
  });

  test('a connection reset mid-answer is an UnavailableError; for a write it may have been applied', async () => {
    handler = (_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"header":{"revision":');
      setTimeout(() => response.socket?.resetAndDestroy(), 20);
    };
    assertUnavailableRead(await failure(() => client().get('a')));
    const error = await failure(() => client().put('a', 'b'));
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.mayHaveApplied, true);
  });

  test('a connection closed before any answer is an UnavailableError that may have applied', async () => {
    handler = (request) => request.socket.destroy();
    const error = await failure(() => client().put('a', 'b'));
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.mayHaveApplied, true);
  });

  test('a keep-alive stream that stops mid-message or holds an endless line is a typed error', async () => {
    handler = (_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"result":{"header":{},"ID":"7","TT');
    };
    await failure(() => client().keepAliveOnce('7'));
    handler = endless('{"result":{"ID":"7","TTL":"', '9'.repeat(16 * 1024));
    await failure(() => client().keepAliveOnce('7'));
    handler = (_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"result":{"ID":"7",');
      setTimeout(() => response.socket?.resetAndDestroy(), 20);
    };
    await failure(() => client().keepAliveOnce('7'));
  });

  describe('a watch whose stream misbehaves', () => {
    const KEY = Buffer.from('w').toString('base64');
    const VALUE = Buffer.from('v').toString('base64');
    /** Reads the create request's watch_id, answers `created` at revision 5, then does `then`. */
    function watchServer(perConnection: Array<(response: ServerResponse, id: string) => void>): Handler {
      let connection = 0;
      return (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const create = Buffer.concat(chunks)
            .toString()
            .split('\n')
            .map((line) =>
              line.trim().startsWith('{') ? (JSON.parse(line) as { create_request?: { watch_id?: string } }) : {},
            )
            .find((message) => message.create_request !== undefined);
          const id = create?.create_request?.watch_id ?? '0';
          response.writeHead(200, { 'content-type': 'application/json' });
          response.write(`{"result":{"header":{"revision":"5"},"watch_id":"${id}","created":true}}\n`);
          perConnection[Math.min(connection++, perConnection.length - 1)]!(response, id);
        });
      };
    }
    const good = (response: ServerResponse, id: string) =>
      response.write(
        `{"result":{"header":{"revision":"6"},"watch_id":"${id}","events":[{"kv":{"key":"${KEY}","value":"${VALUE}","create_revision":"6","mod_revision":"6","version":"1"}}]}}\n`,
      );

    /** A misbehaving stream is noticed at once: a resume takes one backoff (at most 2 s). */
    const WATCH_BOUND = HANG;

    /** The first event, or the typed error the watch ended with, and how long that took; never a hang. */
    async function firstEvent(): Promise<{ value?: string; error?: unknown; reconnects: number; ms: number }> {
      const watch = client().watch({ key: 'w' });
      const started = performance.now();
      let hung = false;
      const bound = setTimeout(() => {
        hung = true;
        watch.close();
      }, WATCH_BOUND);
      try {
        for await (const event of watch)
          return { value: event.kv.valueText, reconnects: watch.reconnects, ms: performance.now() - started };
        assert.fail(
          hung
            ? `the watch gave neither an event nor an error within ${WATCH_BOUND} ms`
            : 'the watch ended without an event or an error',
        );
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(isEtcdError(error), `a typed error, got ${String(error)}`);
        return { error, reconnects: watch.reconnects, ms: performance.now() - started };
      } finally {
        clearTimeout(bound);
        watch.close();
      }
    }

    // A cut-off stream is a broken connection: the watch resumes. A whole line it cannot read is
    // a server it cannot trust: the watch ends with a MalformedResponseError, never retried
    // forever nor skipped in silence (an event would be lost).
    const broken: Array<[string, (response: ServerResponse, id: string) => void, RegExp | 'resumes']> = [
      [
        'stops mid-message',
        (response) => response.end('{"result":{"header":{"revision":"6"},"events":[{"kv":{"key":'),
        'resumes',
      ],
      [
        'is reset mid-message',
        (response) => {
          response.write('{"result":{"header":{"revision":"6"},"ev');
          setTimeout(() => response.socket?.resetAndDestroy(), 20);
        },
        'resumes',
      ],
      [
        'sends wrong types',
        (response, id) => response.write(`{"result":{"watch_id":"${id}","events":"x"}}\n`),
        /events must be an array/,
      ],
      ['sends a line that is not JSON', (response) => response.write('<html>proxy error</html>\n'), /not JSON/],
      [
        'sends an endless line',
        (response) => {
          let open = true;
          response.on('close', () => (open = false));
          const chunk = 'x'.repeat(64 * 1024);
          const pump = () => {
            while (open && response.write(chunk));
            if (open) response.once('drain', pump);
          };
          pump();
        },
        /exceeded/,
      ],
    ];
    for (const [what, misbehave, expected] of broken) {
      const outcome =
        expected === 'resumes' ? 'the watch resumes and delivers' : 'the watch ends with a MalformedResponseError';
      test(`a stream that ${what}: ${outcome}, within ${WATCH_BOUND} ms`, async (t) => {
        handler = watchServer([misbehave, good]);
        const result = await firstEvent();
        t.diagnostic(
          `${result.error === undefined ? `resumed after ${result.reconnects} reconnect(s)` : `ended: ${String(result.error)}`} in ${Math.round(result.ms)} ms`,
        );
        if (expected === 'resumes') {
          assert.equal(result.error, undefined, String(result.error));
          assert.equal(result.value, 'v');
          assert.ok(result.reconnects >= 1);
        } else {
          assert.ok(result.error instanceof MalformedResponseError, String(result.error));
          assert.match(result.error.message, expected);
          assert.equal(result.reconnects, 0, 'a line that cannot be read is not retried');
        }
        assert.ok(result.ms < WATCH_BOUND);
      });
    }
  });

  test('nothing above left an unhandled rejection behind', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(unhandled, []);
  });
});
