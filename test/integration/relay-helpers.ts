// Relay test helpers: a relay example run in workerd, and SSE messages read off a body in-process.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const root = resolve(import.meta.dirname, '../..');

/** Runs `test/runtimes/<config>` in workerd on `port` with `env`; resolves once it answers. */
export async function startRelay(config: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(
    resolve(root, 'node_modules/.bin/workerd'),
    ['serve', `test/runtimes/${config}`, '--socket-addr', `http=127.0.0.1:${port}`],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await fetch(`http://127.0.0.1:${port}/nothing`).then(
      (r) => r.status === 404,
      () => false,
    );
    if (up) return child;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('the relay (workerd) did not start');
}

export async function stopRelay(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** Reads SSE messages from a relay's body, as much as it is asked for and no more. */
export class SseReader {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private text = '';
  private lastId: string | undefined;
  done = false;

  constructor(body: ReadableStream<Uint8Array> | null) {
    if (body === null) throw new Error('the relay answered without a body');
    this.reader = body.getReader();
  }

  /** The next message (comments skipped), or undefined when the stream ended; rejects after `ms`. */
  async next(ms = 10_000): Promise<SseMessage | undefined> {
    for (;;) {
      const end = this.text.indexOf('\n\n');
      if (end >= 0) {
        const block = this.text.slice(0, end);
        this.text = this.text.slice(end + 2);
        const message = this.parse(block);
        if (message !== undefined) return message;
        continue;
      }
      if (this.done) return undefined;
      const { value, done } = await withTimeout(this.reader.read(), ms);
      if (done) this.done = true;
      else this.text += this.decoder.decode(value, { stream: true });
    }
  }

  /** Messages until one of type `event` (or of one of several types), returned last; or until the stream ends. */
  async until(event: string | string[], ms = 10_000): Promise<SseMessage[]> {
    const seen: SseMessage[] = [];
    for (;;) {
      const message = await this.next(ms);
      if (message === undefined) return seen;
      seen.push(message);
      if ((Array.isArray(event) ? event : [event]).includes(message.event)) return seen;
    }
  }

  private parse(block: string): SseMessage | undefined {
    let event = 'message';
    let data: string | undefined;
    let id = this.lastId;
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
      else if (field === 'id') id = this.lastId = value;
    }
    return data === undefined ? undefined : { id, event, data };
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`nothing in ${ms} ms`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Bytes held by live ArrayBuffers after a full garbage collection. */
export function liveArrayBuffers(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
