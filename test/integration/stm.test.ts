import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, InvalidArgumentError, StmConflictError } from 'etcd-fetch';
import { type Isolation, type StmTx, stm } from 'etcd-fetch/concurrency';
import { closedAfter, gatewayVersion, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));

const ACCOUNTS = 6;
const START = 100;
const WORKERS = 8;
// Through a version imitation the STM calls are the same range and txn calls: fewer runs suffice.
const RUNS = gatewayVersion() === undefined ? 1_000 : 100;

/** Moves a random amount from one random account to another, as one STM transaction. */
async function transfer(tx: StmTx, prefix: string, random: () => number): Promise<void> {
  const from = Math.floor(random() * ACCOUNTS);
  const to = (from + 1 + Math.floor(random() * (ACCOUNTS - 1))) % ACCOUNTS;
  const a = Number(await tx.get(`${prefix}${from}`));
  const b = Number(await tx.get(`${prefix}${to}`));
  const amount = Math.min(a, Math.floor(random() * 10));
  tx.put(`${prefix}${from}`, String(a - amount));
  tx.put(`${prefix}${to}`, String(b + amount));
}

function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

describe('STM (software transactional memory, as Go’s concurrency.NewSTM)', () => {
  for (const isolation of ['serializable-snapshot', 'serializable', 'repeatable-reads'] as Isolation[]) {
    test(`${isolation}: ${RUNS} concurrent transfers keep the total constant`, async (t) => {
      const etcd = client();
      const prefix = uniquePrefix(`stm-${isolation}`);
      for (let i = 0; i < ACCOUNTS; i++) await etcd.put(`${prefix}${i}`, String(START));
      let retried = 0;
      let next = 0;
      const workers = Array.from({ length: WORKERS }, async (_, w) => {
        const worker = client();
        const random = seeded(w + 1);
        while (next < RUNS) {
          next++;
          const { attempts } = await stm(worker, (tx) => transfer(tx, prefix, random), {
            isolation,
            maxAttempts: 1_000,
          });
          retried += attempts - 1;
        }
      });
      await Promise.all(workers);
      const { kvs } = await etcd.range({ prefix });
      assert.equal(kvs.length, ACCOUNTS);
      assert.equal(
        kvs.reduce((sum, kv) => sum + Number(kv.valueText), 0),
        ACCOUNTS * START,
      );
      t.diagnostic(`${retried} retries after conflicts`);
      assert.ok(retried > 0, 'the transfers conflicted (else this test proves nothing)');
    });
  }

  test('serializable-snapshot: a blind write to a key changed after the first read conflicts', async () => {
    const etcd = client();
    const p = uniquePrefix('stm-snap');
    await etcd.put(`${p}a`, '1');
    await etcd.put(`${p}b`, '1');
    const outcome = await blindWrite(etcd, p, 'serializable-snapshot');
    assert.equal(outcome.attempts, 2, 'the first attempt conflicted on the key it only wrote');
    assert.equal((await etcd.get(`${p}b`))?.valueText, 'from stm');
    // The same under `serializable`: keys only written are not checked.
    const plain = await blindWrite(etcd, p, 'serializable');
    assert.equal(plain.attempts, 1);
  });

  test('serializable: every read sees the store as of the first read; the change then conflicts', async () => {
    const etcd = client();
    const p = uniquePrefix('stm-ser');
    await etcd.put(`${p}a`, 'a0');
    await etcd.put(`${p}b`, 'b0');
    const seen: (string | undefined)[] = [];
    const { attempts } = await stm(
      etcd,
      async (tx) => {
        await tx.get(`${p}a`);
        if (seen.length === 0) await etcd.put(`${p}b`, 'b1');
        seen.push(await tx.get(`${p}b`));
        tx.put(`${p}a`, 'written');
      },
      { isolation: 'serializable' },
    );
    assert.deepEqual(seen, ['b0', 'b1'], 'the first attempt read b at the snapshot, the retry the new b');
    assert.equal(attempts, 2);
  });

  test('repeatable-reads: a key read twice gives the same answer, and its change is caught at commit', async () => {
    const etcd = client();
    const p = uniquePrefix('stm-rr');
    await etcd.put(`${p}a`, 'a0');
    await etcd.put(`${p}b`, 'b0');
    const seen: (string | undefined)[][] = [];
    const { attempts } = await stm(
      etcd,
      async (tx) => {
        const first = await tx.get(`${p}a`);
        if (seen.length === 0) {
          await etcd.put(`${p}a`, 'a1');
          await etcd.put(`${p}b`, 'b1');
        }
        seen.push([first, await tx.get(`${p}b`), await tx.get(`${p}a`)]);
        tx.put(`${p}c`, 'written');
      },
      { isolation: 'repeatable-reads' },
    );
    // Unlike a snapshot, b is read at the latest revision; a stays as first read.
    assert.deepEqual(seen, [
      ['a0', 'b1', 'a0'],
      ['a1', 'b1', 'a1'],
    ]);
    assert.equal(attempts, 2);
  });

  test('read-committed: nothing is checked, so a concurrent change is overwritten (a lost update)', async () => {
    const etcd = client();
    const p = uniquePrefix('stm-rc');
    await etcd.put(`${p}n`, '0');
    const { attempts } = await stm(
      etcd,
      async (tx) => {
        const n = Number(await tx.get(`${p}n`));
        await etcd.put(`${p}n`, '100');
        tx.put(`${p}n`, String(n + 1));
      },
      { isolation: 'read-committed' },
    );
    assert.equal(attempts, 1);
    assert.equal((await etcd.get(`${p}n`))?.valueText, '1');
  });

  test('reads see the attempt’s own writes; rev and delete; prefetch reads in one round trip', async () => {
    const etcd = client();
    const p = uniquePrefix('stm-own');
    const { revision } = await etcd
      .put(`${p}a`, 'a0')
      .then(() => etcd.get(`${p}a`))
      .then((kv) => ({ revision: kv!.modRevision }));
    const { value } = await stm(
      etcd,
      async (tx) => {
        tx.put(`${p}x`, 'mine');
        const x = await tx.get(`${p}x`);
        const rev = await tx.rev(`${p}a`);
        tx.del(`${p}a`);
        return { x, rev, a: await tx.get(`${p}a`), missing: await tx.get(`${p}nothing`) };
      },
      { prefetch: [`${p}a`, `${p}nothing`] },
    );
    assert.deepEqual(value, { x: 'mine', rev: revision, a: undefined, missing: undefined });
    assert.equal(await etcd.get(`${p}a`), undefined);
    assert.equal((await etcd.get(`${p}x`))?.valueText, 'mine');
  });

  test('gives up with StmConflictError after maxAttempts, and commits nothing', async () => {
    const etcd = client();
    const p = uniquePrefix('stm-give-up');
    await etcd.put(`${p}a`, '0');
    let runs = 0;
    await assert.rejects(
      stm(
        etcd,
        async (tx) => {
          runs++;
          await tx.get(`${p}a`);
          await etcd.put(`${p}a`, String(runs));
          tx.put(`${p}b`, 'never');
        },
        { maxAttempts: 3 },
      ),
      (error: unknown) => error instanceof StmConflictError && error.attempts === 3 && error.code === 10,
    );
    assert.equal(runs, 3);
    assert.equal(await etcd.get(`${p}b`), undefined);
  });

  test('a retry reads at a fresh snapshot: a compaction between attempts does not end it with CompactedError', async () => {
    const etcd = client();
    const other = client();
    const p = uniquePrefix('stm-compact');
    await etcd.put(`${p}a`, '0');
    await etcd.put(`${p}c`, '0');
    await etcd.put(`${p}d`, 'd0');
    let runs = 0;
    const { value, attempts } = await stm(etcd, async (tx) => {
      runs++;
      const a = await tx.get(`${p}a`);
      await tx.get(`${p}c`);
      if (runs === 1) {
        // Conflict, then compact away the first attempt's snapshot.
        await other.put(`${p}a`, '1');
        const { revision } = await other.put(`${p}other`, 'x');
        await other.compact(revision);
        return 'first';
      }
      // A key only the retry reads: it is not among the keys prefetched after the conflict.
      const d = await tx.get(`${p}d`);
      tx.put(`${p}c`, `${a}+${d}`);
      return 'second';
    });
    assert.equal(attempts, 2);
    assert.equal(value, 'second');
    assert.equal((await etcd.get(`${p}c`))?.valueText, '1+d0');
  });

  test('an abort signal ends the retries; an error thrown by apply ends the STM without a commit', async () => {
    const etcd = client();
    const p = uniquePrefix('stm-abort');
    await etcd.put(`${p}a`, '0');
    const controller = new AbortController();
    let runs = 0;
    await assert.rejects(
      stm(
        etcd,
        async (tx) => {
          runs++;
          await tx.get(`${p}a`);
          await etcd.put(`${p}a`, String(runs));
          if (runs === 2) controller.abort();
          tx.put(`${p}b`, 'never');
        },
        { signal: controller.signal },
      ),
      AbortedError,
    );
    assert.equal(runs, 2);
    await assert.rejects(
      stm(etcd, async (tx) => {
        tx.put(`${p}b`, 'never');
        throw new RangeError('no funds');
      }),
      RangeError,
    );
    assert.equal(await etcd.get(`${p}b`), undefined);
    await assert.rejects(
      stm(etcd, async () => {}, { isolation: 'snapshot' as Isolation }),
      InvalidArgumentError,
    );
    await assert.rejects(
      stm(etcd, async () => {}, { maxAttempts: 0 }),
      InvalidArgumentError,
    );
  });
});

/** Reads a, lets another client write b once, then writes b without having read it. */
async function blindWrite(etcd: Etcd, p: string, isolation: Isolation): Promise<{ attempts: number }> {
  let changed = false;
  return stm(
    etcd,
    async (tx) => {
      await tx.get(`${p}a`);
      if (!changed) {
        changed = true;
        await etcd.put(`${p}b`, 'from elsewhere');
      }
      tx.put(`${p}b`, 'from stm');
    },
    { isolation },
  );
}
