// A fault-injecting HTTP proxy in front of a real etcd, for tests (Node-only, loopback only).
//
// Every request is forwarded to the upstream etcd unchanged, unless the test's `fault` callback
// picks a fault for it (by gateway path and/or the parsed JSON body). Each request is recorded
// with the fault applied, so a test can tell what etcd saw from what the client got.
//
//   const proxy = await startFaultProxy({ upstream: etcd.endpoint });
//   proxy.fault = faultOnce((r) => r.path === '/v3/kv/put', { kind: 'drop' });
//   const client = new Etcd({ endpoints: proxy.endpoint });
//   ...
//   await proxy.close();
//
// Request bodies are read whole before the fault is chosen (the client sends its bodies, streams'
// included, as complete texts); answers stream through as they arrive unless the fault needs the
// whole answer first.
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip } from 'node:zlib';

/** One fault, applied to one request. */
export type Fault =
  /** Forward to etcd, wait for its answer to start, then destroy the client's socket: the request WAS applied, the client gets no answer. */
  | { kind: 'drop' }
  /** Destroy the client's socket without forwarding: the request was NOT applied. */
  | { kind: 'refuse' }
  /**
   * Forward, then answer with only the first `bytes` bytes of etcd's body. `end: 'clean'` (the
   * default) ends a chunked answer normally (a short body that looks complete); `end: 'reset'`
   * declares etcd's Content-Length and destroys the socket after `bytes` (a body that breaks off).
   */
  | { kind: 'truncate'; bytes: number; end?: 'clean' | 'reset' }
  /** Forward, then answer 200 with a body that is not valid JSON (default `{"header":{"revision":` cut short). */
  | { kind: 'garble'; body?: string }
  /** Wait `beforeForward` ms before forwarding and/or `beforeAnswer` ms after etcd's answer starts, then pass through. */
  | { kind: 'delay'; beforeForward?: number; beforeAnswer?: number }
  /** Forward twice, one after the other; the client gets the second answer (as from a proxy that retried). */
  | { kind: 'duplicate' }
  /**
   * Forward, then answer 200 with `Content-Encoding: gzip` and a small gzip body that inflates to
   * `inflatedBytes` (default 64 MiB) of a valid-looking JSON answer; with `Content-Length` unless
   * `contentLength: false`.
   */
  | { kind: 'gzipBomb'; inflatedBytes?: number; contentLength?: boolean }
  /**
   * For streams (watch, keep-alive, observe): pass etcd's answer through, then, once at least
   * `afterBytes` bytes were sent, destroy the connection at a point in the middle of a line (the
   * last byte sent is not a newline).
   */
  | { kind: 'cutStream'; afterBytes: number }
  /** Forward, then answer with this status, headers and body instead of etcd's answer. */
  | { kind: 'replace'; status: number; headers?: Record<string, string>; body?: string };

/** What the `fault` callback sees of a request. */
export interface ProxiedRequest {
  /** The gateway path, e.g. `/v3/kv/put` (no query). */
  readonly path: string;
  readonly method: string;
  /** The request body as text. */
  readonly body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

/** A request the proxy received, and what it did with it. */
export interface RecordedRequest extends ProxiedRequest {
  /** The fault applied, or undefined when the request passed through. */
  readonly fault: Fault['kind'] | undefined;
  /** How many times it was forwarded to etcd (0 for `refuse`, 2 for `duplicate`). */
  forwarded: number;
  /** Body bytes written to the client (compressed bytes for `gzipBomb`). */
  bytesSent: number;
  /** The client's socket closed before the proxy was done answering. */
  clientGone: boolean;
}

/** Picks the fault for a request, or undefined to pass it through. */
export type FaultChooser = (request: ProxiedRequest) => Fault | undefined;

export interface FaultProxyOptions {
  /** The real etcd's client URL (http). */
  upstream: string;
  /** The initial fault chooser (default: none, everything passes through). */
  fault?: FaultChooser;
  /** Listen on this port (default: a free one), e.g. one a client already tries in vain. */
  port?: number;
}

export interface FaultProxy {
  /** The proxy's URL (`http://127.0.0.1:PORT`), to give the client. */
  readonly endpoint: string;
  readonly upstream: string;
  /** The fault chooser; may be replaced at any time. */
  fault: FaultChooser | undefined;
  /** Every request received so far, in order of arrival. */
  readonly requests: readonly RecordedRequest[];
  /** Stops listening and destroys every connection, upstream ones included. */
  close(): Promise<void>;
}

/** A chooser that applies `fault` to the first `times` (default 1) requests `match` accepts, then none. */
export function faultOnce(match: (request: ProxiedRequest) => boolean, fault: Fault, times = 1): FaultChooser {
  let left = times;
  return (request) => {
    if (left <= 0 || !match(request)) return undefined;
    left--;
    return fault;
  };
}

/** Starts a proxy on 127.0.0.1 (a free port unless `port` is given) in front of `upstream`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:')
    throw new Error(`the fault proxy forwards to http:// only, got ${upstream.protocol}`);
  const agent = new Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];
  const proxy: { fault: FaultChooser | undefined } = { fault: options.fault };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent && !response.destroyed) response.writeHead(502).end();
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readAll(request);
    const text = body.toString('utf8');
    const path = (request.url ?? '/').split('?')[0]!;
    const seen: ProxiedRequest = { path, method: request.method ?? 'GET', body: text, json: parseJson(text) };
    const fault = proxy.fault?.(seen);
    const record: RecordedRequest = { ...seen, fault: fault?.kind, forwarded: 0, bytesSent: 0, clientGone: false };
    requests.push(record);
    response.on('close', () => {
      if (!response.writableFinished) record.clientGone = true;
    });
    const forward = (): Promise<IncomingMessage> => {
      record.forwarded++;
      return send(request, body, response);
    };
    const write = (chunk: Uint8Array): boolean => {
      record.bytesSent += chunk.byteLength;
      return response.write(chunk);
    };

    switch (fault?.kind) {
      case undefined:
        return passThrough(await forward(), response, write);
      case 'refuse':
        request.socket.destroy();
        return;
      case 'drop': {
        const answer = await forward();
        request.socket.destroy();
        answer.destroy();
        return;
      }
      case 'truncate': {
        const answer = await forward();
        const whole = await readAll(answer);
        const part = whole.subarray(0, Math.max(0, fault.bytes));
        const headers = answerHeaders(answer);
        delete headers['content-length'];
        if (fault.end === 'reset') {
          response.writeHead(answer.statusCode ?? 200, { ...headers, 'content-length': String(whole.length) });
          write(part);
          await flushed(response);
          request.socket.destroy();
          return;
        }
        response.writeHead(answer.statusCode ?? 200, headers);
        write(part);
        response.end();
        return;
      }
      case 'garble': {
        await readAll(await forward());
        response.writeHead(200, { 'content-type': 'application/json' });
        write(Buffer.from(fault.body ?? '{"header":{"revision":'));
        response.end();
        return;
      }
      case 'delay': {
        await sleep(fault.beforeForward ?? 0);
        const answer = await forward();
        await sleep(fault.beforeAnswer ?? 0);
        return passThrough(answer, response, write);
      }
      case 'duplicate': {
        await readAll(await forward());
        return passThrough(await forward(), response, write);
      }
      case 'gzipBomb': {
        await readAll(await forward());
        const bomb = await gzipBomb(fault.inflatedBytes ?? 64 * 1024 * 1024);
        const headers: Record<string, string> = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
        if (fault.contentLength !== false) headers['content-length'] = String(bomb.length);
        response.writeHead(200, headers);
        // In slices, so that a client that stops reading leaves the rest unsent.
        for (let offset = 0; offset < bomb.length && !response.destroyed; offset += 16 * 1024) {
          if (!write(bomb.subarray(offset, offset + 16 * 1024))) await drained(response);
        }
        response.end();
        return;
      }
      case 'cutStream': {
        const answer = await forward();
        response.writeHead(answer.statusCode ?? 200, answerHeaders(answer));
        response.flushHeaders();
        let sent = 0;
        for await (const chunk of answer as AsyncIterable<Buffer>) {
          const cut = cutPoint(chunk, Math.max(1, fault.afterBytes - sent));
          if (cut === undefined) {
            sent += chunk.length;
            write(chunk);
            continue;
          }
          write(chunk.subarray(0, cut));
          await flushed(response);
          // A FIN after the bytes, not a reset: a reset may make the client's kernel drop bytes it had not read yet.
          request.socket.end();
          answer.destroy();
          return;
        }
        response.end();
        return;
      }
      case 'replace': {
        await readAll(await forward());
        response.writeHead(fault.status, fault.headers ?? {});
        write(Buffer.from(fault.body ?? ''));
        response.end();
        return;
      }
    }
  }

  /** Sends the request to etcd, resolving with its answer's head. */
  function send(request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<IncomingMessage> {
    const headers = { ...request.headers, host: upstream.host, 'content-length': String(body.length) };
    delete headers.connection;
    delete headers['transfer-encoding'];
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers, agent },
        resolve,
      );
      outgoing.on('error', reject);
      // A client that leaves ends the upstream call too (a watch must not outlive its client).
      response.once('close', () => {
        if (!response.writableFinished) outgoing.destroy();
      });
      outgoing.end(body);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    upstream: options.upstream,
    get fault() {
      return proxy.fault;
    },
    set fault(chooser: FaultChooser | undefined) {
      proxy.fault = chooser;
    },
    requests,
    async close() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Streams etcd's answer to the client as it arrives. */
async function passThrough(
  answer: IncomingMessage,
  response: ServerResponse,
  write: (chunk: Uint8Array) => boolean,
): Promise<void> {
  response.writeHead(answer.statusCode ?? 200, answerHeaders(answer));
  response.flushHeaders();
  for await (const chunk of answer as AsyncIterable<Buffer>) {
    if (!write(chunk)) await drained(response);
  }
  response.end();
}

/** etcd's answer headers, minus those the proxy's own connection decides. */
function answerHeaders(answer: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && name !== 'connection' && name !== 'transfer-encoding' && name !== 'keep-alive')
      headers[name] = value;
  }
  return headers;
}

/**
 * Where to cut `chunk` so that at least `from` of its bytes go and the last one sent is not a
 * newline; undefined when the whole chunk goes (the cut falls in a later chunk).
 */
function cutPoint(chunk: Buffer, from: number): number | undefined {
  for (let at = from; at <= chunk.length; at++) {
    if (chunk[at - 1] !== 0x0a) return at;
  }
  return undefined;
}

const bombs = new Map<number, Promise<Buffer>>();

/** A gzip body that inflates to `inflatedBytes` of `{"header":{},"kvs":[{"key":"AAAA...`; made once per size, in streaming fashion. */
function gzipBomb(inflatedBytes: number): Promise<Buffer> {
  let bomb = bombs.get(inflatedBytes);
  if (bomb === undefined) {
    bomb = new Promise<Buffer>((resolve, reject) => {
      const gzip = createGzip({ level: 9 });
      const parts: Buffer[] = [];
      gzip.on('data', (part: Buffer) => parts.push(part));
      gzip.on('end', () => resolve(Buffer.concat(parts)));
      gzip.on('error', reject);
      const head = Buffer.from('{"header":{},"kvs":[{"key":"');
      const tail = Buffer.from('"}]}');
      const slice = Buffer.alloc(1024 * 1024, 'A');
      let left = Math.max(0, inflatedBytes - head.length - tail.length);
      const pump = (): void => {
        while (left > 0) {
          const part = slice.subarray(0, Math.min(left, slice.length));
          left -= part.length;
          if (!gzip.write(part)) {
            gzip.once('drain', pump);
            return;
          }
        }
        gzip.end(tail);
      };
      gzip.write(head);
      pump();
    });
    bombs.set(inflatedBytes, bomb);
  }
  return bomb;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (part: Buffer) => parts.push(part));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
    stream.on('close', () => {
      if (!stream.complete) reject(new Error('the stream closed before its end'));
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

/** Resolves once what was written so far has left the process (the socket accepted it). */
function flushed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (response.destroyed) return resolve();
    response.write('', () => resolve());
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
