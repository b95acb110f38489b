// A relay over node:http in a process of its own (so an unhandled rejection would end it) takes
// more than 50 kinds of malformed and hostile requests while two subscribers (one on the shared
// upstream watch, one on a watch of its own) listen: the process lives, they keep receiving, and
// every bad id, start revision or selector gets a 400 with a typed JSON body.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { SseReader, sleep, withTimeout } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();
let shared: Etcd | undefined;
const client = () => (shared ??= new Etcd({ endpoints: etcdUnderTest.endpoint }));
after(() => shared?.close());

/** Starts the relay process; resolves with it and its port once it listens (bounded wait). */
async function startRelayProcess(): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, [resolve(import.meta.dirname, 'relay-node-server.ts')], {
    env: { ...process.env, ETCD_ENDPOINT: etcdUnderTest.endpoint },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  for (let waited = 0; waited < 15_000; waited += 50) {
    const port = /listening (\d+)/.exec(output)?.[1];
    if (port) return { child, port: Number(port), output: () => output.slice(-3_000) };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`the relay process did not start:\n${output}`);
}

/** What a request got: the status, and for a JSON answer the error's name (`400 InvalidArgumentError`). */
async function answer(url: string, init: RequestInit = {}): Promise<string> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  if (/json/.test(response.headers.get('content-type') ?? '')) {
    const body = (await response.json()) as { error?: { name?: string } };
    return `${response.status} ${body.error?.name}`;
  }
  // A stream: read its first chunk (or nothing), then leave abruptly.
  const reader = response.body?.getReader();
  const first = await withTimeout(reader?.read() ?? Promise.resolve(undefined), 5_000).catch(() => undefined);
  await reader?.cancel().catch(() => {});
  const text = first?.value ? new TextDecoder().decode(first.value) : '';
  return `${response.status}${/compacted/.test(text) ? ' compacted' : ''}`;
}

/** Writes `text` on a raw socket and returns the first line the server answers (or how it ended) within `ms`. */
function raw(port: number, text: string | Uint8Array, ms = 2_000, hold = false): Promise<string> {
  return new Promise((done) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let reply = '';
    const finish = (why: string) => {
      clearTimeout(timer);
      if (!hold) socket.destroy();
      done(why);
    };
    const timer = setTimeout(() => finish(reply ? reply.split('\r\n')[0]! : 'no answer'), ms);
    socket.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) finish(reply.split('\r\n')[0]!);
    });
    socket.on('error', (error) => finish(`socket error ${(error as NodeJS.ErrnoException).code}`));
    socket.on('close', () => finish(reply ? reply.split('\r\n')[0]! : 'closed'));
    socket.write(text);
  });
}

/** Opens a raw socket, writes `text` and leaves it open (a slow-loris client); returns the socket. */
function slow(port: number, text: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(text);
  return socket;
}

const BAD_IDS = [
  '9007199254740991',
  '9007199254740992',
  '-1',
  '-3',
  'NaN',
  '0x10',
  '1e3',
  '1.2.3',
  'Infinity',
  '12abc',
  '9 9',
  '9'.repeat(300),
  '1.9007199254740992',
  '\u00ff',
  '+5',
  '.5',
];
const BAD_QUERY_IDS = [
  '9007199254740991',
  '-1',
  'NaN',
  '1e3',
  '\u0663',
  'é',
  '\u0000',
  '\u202e12',
  '1%',
  '9'.repeat(5_000),
];
const BAD_START = ['-1', '-3', 'abc', '1e309', '9007199254740993', '1.5', 'Infinity'];
const BAD_SELECTORS = ['', 'key=', 'key=a&prefix=b', 'to=z', 'key=a&from=b'];

describe('a relay under hostile requests', () => {
  test('more than 50 kinds of malformed requests: the relay process and existing subscribers live on and keep receiving events', {
    timeout: 180_000,
  }, async () => {
    const relay = await startRelayProcess();
    const { child, port } = relay;
    const base = `http://127.0.0.1:${port}`;
    const prefix = uniquePrefix('relay-hostile');
    const q = `prefix=${encodeURIComponent(prefix)}`;
    const subscribers: SseReader[] = [];
    const loris: Socket[] = [];
    try {
      for (const mode of ['', '&shared=0']) {
        const response = await fetch(`${base}/events?${q}${mode}`);
        assert.equal(response.status, 200);
        subscribers.push(new SseReader(response.body));
      }
      const ready = await Promise.all(subscribers.map(async (s) => (await s.until('ready')).at(-1)!));
      await client().put(`${prefix}before`, '1');
      for (const s of subscribers)
        assert.equal(JSON.parse((await s.until('put')).at(-1)!.data).kv.key, `${prefix}before`);

      const outcomes: Array<[string, string]> = [];
      const attack = async (kind: string, run: () => Promise<string>) => {
        outcomes.push([kind, await run().catch((error: unknown) => `failed: ${(error as Error).message}`)]);
      };
      // Slow-loris clients first: they hold their sockets the whole time.
      for (let i = 0; i < 5; i++) loris.push(slow(port, `GET /events?${q} HTTP/1.1\r\nHost: relay\r\nX-Slow: `));
      loris.push(slow(port, `POST /events?${q} HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000\r\n\r\nabc`));
      loris.push(slow(port, 'GET /eve'));

      for (const id of BAD_IDS) {
        await attack(`Last-Event-ID ${JSON.stringify(id.slice(0, 20))}`, () =>
          answer(`${base}/events?${q}`, { headers: { 'last-event-id': id } }),
        );
      }
      await attack('Last-Event-ID 2^53-1 on a watch of its own', () =>
        answer(`${base}/events?${q}&shared=0`, { headers: { 'last-event-id': '9007199254740991' } }),
      );
      for (const id of BAD_QUERY_IDS) {
        await attack(`?lastEventId=${JSON.stringify(id.slice(0, 20))}`, () =>
          answer(`${base}/events?${q}&lastEventId=${encodeURIComponent(id)}`),
        );
      }
      await attack('?lastEventId=2^53-1 on a watch of its own', () =>
        answer(`${base}/events?${q}&shared=0&lastEventId=9007199254740991`),
      );
      await attack('two lastEventId parameters, the first bad', () =>
        answer(`${base}/events?${q}&lastEventId=-5&lastEventId=3`),
      );
      for (const start of BAD_START) {
        await attack(`startRevision=${start}`, () => answer(`${base}/events?${q}&startRevision=${start}`));
        await attack(`startRevision=${start}, a watch of its own`, () =>
          answer(`${base}/events?${q}&shared=0&startRevision=${start}`),
        );
      }
      for (const selector of BAD_SELECTORS)
        await attack(`selector ${JSON.stringify(selector)}`, () => answer(`${base}/events?${selector}`));
      // Signed ids: anything not signed by the relay is a refused resume, never a crash.
      for (const id of [
        'x~y',
        `1~${'A'.repeat(43)}=`,
        `9007199254740991~${'A'.repeat(43)}=`,
        `${'9'.repeat(200)}~abc`,
        '~',
        '1~~~',
      ]) {
        await attack(`signed route, Last-Event-ID ${JSON.stringify(id.slice(0, 20))}`, () =>
          answer(`${base}/signed?${q}`, { headers: { 'last-event-id': id } }),
        );
      }
      for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS'])
        await attack(`method ${method}`, () => answer(`${base}/events?${q}`, { method }));
      await attack('method POST with a body', () =>
        answer(`${base}/events?${q}`, { method: 'POST', body: 'x'.repeat(100_000) }),
      );
      await attack('method HEAD', () => raw(port, `HEAD /events?${q} HTTP/1.1\r\nHost: relay\r\n\r\n`));
      await attack('a 12 KB header', () => answer(`${base}/events?${q}`, { headers: { 'x-big': 'a'.repeat(12_000) } }));
      await attack('a 100 KB header', () =>
        raw(port, `GET /events?${q} HTTP/1.1\r\nHost: relay\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`),
      );
      await attack('500 headers', () =>
        raw(
          port,
          `GET /events?${q} HTTP/1.1\r\nHost: relay\r\n${Array.from({ length: 500 }, (_, i) => `X-H${i}: ${i}\r\n`).join('')}\r\n`,
        ),
      );
      await attack('a 20 KB URL', () =>
        raw(port, `GET /events?${q}&x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: relay\r\n\r\n`),
      );
      await attack('a Last-Event-ID with a NUL byte', () =>
        raw(port, `GET /events?${q} HTTP/1.1\r\nHost: relay\r\nLast-Event-ID: 1\u0000 2\r\n\r\n`),
      );
      await attack('a Last-Event-ID in UTF-8 bytes', () =>
        raw(port, Buffer.from(`GET /events?${q} HTTP/1.1\r\nHost: relay\r\nLast-Event-ID: \u0661\u0662\r\n\r\n`)),
      );
      await attack('garbage bytes', () => raw(port, new Uint8Array([0, 1, 2, 255, 13, 10, 13, 10])));
      await attack('HTTP/9.9', () => raw(port, `GET /events?${q} HTTP/9.9\r\n\r\n`));
      await attack('a header without a colon', () =>
        raw(port, `GET /events?${q} HTTP/1.1\r\nHost: relay\r\nnonsense\r\n\r\n`),
      );
      await attack('two Content-Lengths', () =>
        raw(port, `POST /events?${q} HTTP/1.1\r\nHost: relay\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`),
      );
      await attack('a bad Transfer-Encoding', () =>
        raw(port, `POST /events?${q} HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: sideways\r\n\r\n`),
      );
      await attack('an absolute-form request line', () =>
        raw(port, `GET http://elsewhere/events?${q} HTTP/1.1\r\nHost: relay\r\n\r\n`),
      );
      await attack('a traversal path', () => answer(`${base}/events/..%2F..%2Fetc/passwd?${q}`));
      await attack('a bad percent-encoding', () => answer(`${base}/events?prefix=%E0%A4%A`));
      await attack('a lone surrogate prefix', () => answer(`${base}/events?prefix=%ED%A0%80`));
      // Abrupt disconnects: right after the request, after the headers, after ready, mid-resume.
      await attack('disconnect right after the request', () =>
        raw(port, `GET /events?${q} HTTP/1.1\r\nHost: relay\r\n\r\n`, 1),
      );
      await attack('disconnect half-way through the request', () => raw(port, `GET /events?${q} HTTP/1.1\r\nHo`, 1));
      await attack('disconnect after the headers', async () => {
        const controller = new AbortController();
        const response = await fetch(`${base}/events?${q}&shared=0`, { signal: controller.signal });
        controller.abort();
        return String(response.status);
      });
      await attack('disconnect after ready', async () => {
        const response = await fetch(`${base}/events?${q}`);
        const sse = new SseReader(response.body);
        await sse.until('ready', 5_000);
        await sse.reader.cancel();
        return String(response.status);
      });
      await attack('disconnect mid-resume from a real id', async () => {
        const response = await fetch(`${base}/events?${q}`, { headers: { 'last-event-id': ready[0]!.id! } });
        const sse = new SseReader(response.body);
        await sse.next(5_000);
        await sse.reader.cancel();
        return String(response.status);
      });
      await attack('100 clients connect and vanish at once', async () => {
        const statuses = await Promise.all(
          Array.from({ length: 100 }, () =>
            raw(port, `GET /events?${q}&shared=${Math.random() < 0.5 ? 0 : 1} HTTP/1.1\r\nHost: relay\r\n\r\n`, 200),
          ),
        );
        return [...new Set(statuses)].join(', ');
      });

      const kinds = outcomes.length;
      assert.ok(kinds >= 50, `only ${kinds} kinds`);
      assert.equal(child.exitCode, null, `the relay process ended:\n${relay.output()}`);
      const typed = outcomes.filter(([kind]) =>
        /^(Last-Event-ID|\?lastEventId|two lastEventId|startRevision|selector)/.test(kind),
      );
      for (const [kind, outcome] of typed) assert.equal(outcome, '400 InvalidArgumentError', kind);
      for (const [kind, outcome] of outcomes.filter(([k]) => k.startsWith('signed route')))
        assert.equal(outcome, '200 compacted', kind);
      for (const [kind, outcome] of outcomes) assert.ok(!/^(500|failed)/.test(outcome), `${kind}: ${outcome}`);

      // The subscribers that were there all along still get every change.
      for (let i = 0; i < 3; i++) await client().put(`${prefix}after${i}`, String(i));
      for (const s of subscribers) {
        const keys: string[] = [];
        while (keys.length < 3) {
          const message = await s.next(10_000);
          assert.ok(message, 'a subscriber stream ended');
          if (message.event === 'put') keys.push(JSON.parse(message.data).kv.key);
        }
        assert.deepEqual(
          keys,
          [0, 1, 2].map((i) => `${prefix}after${i}`),
        );
      }
      // A new client is served as well.
      const late = new SseReader((await fetch(`${base}/events?${q}`)).body);
      await late.until('ready', 10_000);
      await late.reader.cancel();
      await sleep(200);
      assert.equal(child.exitCode, null, `the relay process ended:\n${relay.output()}`);
      console.log(
        `${kinds} kinds of hostile requests; outcomes: ${JSON.stringify(Object.fromEntries(outcomes.map(([k, o]) => [k, o])))}`,
      );
    } finally {
      for (const s of subscribers) await s.reader.cancel().catch(() => {});
      for (const socket of loris) socket.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});
