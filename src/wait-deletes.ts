import type { Etcd } from './index.ts';

/**
 * Waits until no key under `prefix` created at or before `maxCreateRevision` is left: the queue
 * in front of a lock or campaign has drained. Watches one predecessor at a time (the newest),
 * so a crowd of waiters does not wake all at once.
 */
export async function waitDeletes(etcd: Etcd, prefix: Uint8Array, maxCreateRevision: number, signal: AbortSignal | undefined): Promise<void> {
  for (;;) {
    const ahead = await etcd.range({ prefix, maxCreateRevision, sort: { target: 'create', order: 'descend' }, limit: 1, keysOnly: true }, { signal });
    const predecessor = ahead.kvs[0];
    if (predecessor === undefined) return;
    await waitDelete(etcd, predecessor.key, ahead.revision, signal);
  }
}

async function waitDelete(etcd: Etcd, key: Uint8Array, revision: number, signal: AbortSignal | undefined): Promise<void> {
  const watch = etcd.watch({ key, startRevision: revision + 1, filters: { noPut: true }, signal });
  try {
    for await (const event of watch) if (event.type === 'delete') return;
  } finally {
    watch.close();
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
