// Answers over 4 MiB (gRPC's default receive limit) on every etcd version the suites run against:
// etcd's gateway dials its own gRPC port with a MaxInt32 receive limit (3.5.36 and 3.6.17
// server/embed/etcd.go), and Debian's 3.4.23 answers such a range too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));
const MIB = 1024 * 1024;

describe('answers over 4 MiB', () => {
  test('a range of 5 MiB of values comes back whole, a scan of it in pages, a watch replay of it in events', async () => {
    const etcd = client();
    const prefix = uniquePrefix('large');
    const values = Array.from({ length: 5 }, (_, i) => String.fromCharCode(97 + i).repeat(MIB));
    let first = 0;
    for (const [i, value] of values.entries()) {
      const { revision } = await etcd.put(`${prefix}${i}`, value);
      if (i === 0) first = revision;
    }
    const { kvs } = await etcd.range({ prefix });
    assert.deepEqual(
      kvs.map((kv) => kv.valueText),
      values,
    );

    const scanned: string[] = [];
    for await (const kv of etcd.scan({ prefix }, { pageSize: 2 })) scanned.push(kv.valueText);
    assert.deepEqual(scanned, values);

    const controller = new AbortController();
    const watched: string[] = [];
    const deadline = setTimeout(() => controller.abort(), 20_000);
    try {
      for await (const event of etcd.watch({ prefix, startRevision: first, signal: controller.signal })) {
        watched.push(event.kv.valueText);
        if (watched.length === values.length) break;
      }
    } finally {
      clearTimeout(deadline);
    }
    assert.deepEqual(watched, values);
    await etcd.del({ prefix });
  });
});
