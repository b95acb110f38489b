// Model-based property test of the KV scheduler: random sequences of un-awaited calls (get, put,
// delete of a key or of the prefix, txn with compares, scan) over a few keys, all issued in one tick against a real etcd,
// with batching on and off. Each call must see exactly the effects of the calls issued before it
// on its keys: its answer equals the one a simple in-memory model gives, run in issue order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cmp, Etcd, type EtcdOptions, type KeyValue, op } from 'etcd-fetch';
import fc from 'fast-check';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(
  (options: EtcdOptions) => new Etcd({ endpoints: etcdUnderTest.endpoint, timeout: 10_000, ...options }),
);

const KEYS = ['a', 'b', 'c'] as const;
const VALUES = ['x', 'y', 'z'] as const;
type Key = (typeof KEYS)[number];
type Value = (typeof VALUES)[number];

type Command =
  | { kind: 'get'; key: Key }
  | { kind: 'put'; key: Key; value: Value; prevKv: boolean }
  | { kind: 'delete'; key: Key }
  | { kind: 'txn'; key: Key; equals: Value; put: Key; value: Value }
  | { kind: 'exists'; key: Key; other: Key }
  | { kind: 'scan' }
  | { kind: 'clear' };

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('get' as const), key }),
  fc.record({ kind: fc.constant('put' as const), key, value, prevKv: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), key }),
  fc.record({ kind: fc.constant('txn' as const), key, equals: value, put: key, value }),
  fc.record({ kind: fc.constant('exists' as const), key, other: key }),
  fc.record({ kind: fc.constant('scan' as const) }),
  fc.record({ kind: fc.constant('clear' as const) }),
);

/** What each call answers, in a form both the model and etcd's answers reduce to. */
function expected(commands: readonly Command[]): unknown[] {
  const store = new Map<Key, Value>();
  return commands.map((c) => {
    switch (c.kind) {
      case 'get':
        return store.get(c.key) ?? null;
      case 'put': {
        const previous = store.get(c.key) ?? null;
        store.set(c.key, c.value);
        return c.prevKv ? previous : 'ok';
      }
      case 'delete': {
        const deleted = store.has(c.key) ? 1 : 0;
        store.delete(c.key);
        return deleted;
      }
      case 'txn': {
        if (store.get(c.key) !== c.equals) return { succeeded: false, read: store.get(c.key) ?? null };
        store.set(c.put, c.value);
        return { succeeded: true, read: store.get(c.key) ?? null };
      }
      case 'exists':
        return store.has(c.key)
          ? { exists: true, read: store.get(c.key) ?? null }
          : { exists: false, read: store.get(c.other) ?? null };
      case 'scan':
        return KEYS.filter((k) => store.has(k)).map((k) => `${k}=${store.get(k)}`);
      case 'clear': {
        const deleted = store.size;
        store.clear();
        return deleted;
      }
    }
  });
}

/** Issues every command at once, in order, without awaiting any; then reduces each answer. */
function issue(etcd: Etcd, prefix: string, commands: readonly Command[]): Promise<unknown>[] {
  const at = (k: Key) => `${prefix}${k}`;
  const text = (kv: KeyValue | undefined) => kv?.valueText ?? null;
  return commands.map(async (c) => {
    switch (c.kind) {
      case 'get':
        return text(await etcd.get(at(c.key)));
      case 'put': {
        const result = await etcd.put(at(c.key), c.value, { prevKv: c.prevKv });
        return c.prevKv ? text(result.prevKv) : 'ok';
      }
      case 'delete':
        return (await etcd.del(at(c.key))).deleted;
      case 'txn': {
        const result = await etcd
          .txn()
          .if(cmp.value(at(c.key), '=', c.equals))
          .then(op.put(at(c.put), c.value), op.get(at(c.key)))
          .else(op.get(at(c.key)))
          .commit();
        return { succeeded: result.succeeded, read: text(result.succeeded ? result.results[1] : result.results[0]) };
      }
      case 'exists': {
        const result = await etcd
          .txn()
          .if(cmp.version(at(c.key), '>', 0))
          .then(op.get(at(c.key)))
          .else(op.get(at(c.other)))
          .commit();
        return { exists: result.succeeded, read: text(result.results[0]) };
      }
      case 'scan': {
        const seen: string[] = [];
        for await (const kv of etcd.scan({ prefix }, { pageSize: 2 }))
          seen.push(`${kv.keyText.slice(prefix.length)}=${kv.valueText}`);
        return seen;
      }
      case 'clear':
        return (await etcd.del({ prefix })).deleted;
    }
  });
}

describe('every call sees exactly the calls issued before it on its keys (model-based, real etcd)', () => {
  for (const batch of [true, false]) {
    test(`random un-awaited get, put, delete, txn and scan sequences match the model (batching ${batch ? 'on' : 'off'})`, {
      timeout: 60_000,
    }, async () => {
      const etcd = client(batch ? {} : { batch: false });
      const base = uniquePrefix(`sched-model-${batch ? 'on' : 'off'}`);
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 2, maxLength: 14 }), async (commands) => {
          const prefix = `${base}${run++}/`;
          const settled = await Promise.allSettled(issue(etcd, prefix, commands));
          const actual = settled.map((s) => (s.status === 'fulfilled' ? s.value : `rejected: ${String(s.reason)}`));
          assert.deepEqual(actual, expected(commands));
        }),
        // Bounded: about 5 s per mode here; on a failure, shrinking stops at the time limit and the failure is still reported.
        { numRuns: 100, interruptAfterTimeLimit: 25_000, markInterruptAsFailure: false },
      );
      assert.ok(run >= 100, `only ${run} runs finished in the time limit`);
    });
  }
});
