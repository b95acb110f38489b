import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ensureInteropDriver } from '../../scripts/etcd-builds.ts';

/** Go's own etcd client in a child process (test/interop/go), one JSON command per call. */
export interface GoDriver {
  /** The go.etcd.io/etcd/client/v3 version it was built with, e.g. `v3.6.17`. */
  readonly clientVersion: string;
  /** Runs one command (see test/interop/go/main.go) and resolves with its answer, or rejects with Go's error. */
  call<T = Record<string, unknown>>(op: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * Starts the Go interop driver against `endpoint` (gRPC, on etcd's client port), building it into
 * the cache first when needed (test-prerequisites normally has).
 */
export async function startGoDriver(endpoint: string): Promise<GoDriver> {
  if (!/^https?:\/\/./.test(endpoint))
    throw new Error(`the Go driver needs an etcd endpoint, got ${JSON.stringify(endpoint)}`);
  const binary = ensureInteropDriver();
  const child: ChildProcessWithoutNullStreams = spawn(binary, ['-endpoints', endpoint], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pending = new Map<string, { resolve: (value: never) => void; reject: (error: Error) => void }>();
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let ready: (version: string) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const started = new Promise<string>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const answer = JSON.parse(line) as { id: string; ok?: boolean; error?: string; version?: string };
    if (answer.id === 'ready') return ready(answer.version ?? 'unknown');
    const waiter = pending.get(answer.id);
    if (waiter === undefined) return;
    pending.delete(answer.id);
    if (answer.ok) waiter.resolve(answer as never);
    else waiter.reject(new Error(`Go: ${answer.error}`));
  });
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      const error = new Error(`the Go driver exited (${code ?? signal}): ${stderr}`);
      failed(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      resolve();
    }),
  );
  const clientVersion = await started;
  return {
    clientVersion,
    call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
      const id = String(++counter);
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: never) => void, reject });
        child.stdin.write(`${JSON.stringify({ ...args, id, op })}\n`);
      });
    },
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
