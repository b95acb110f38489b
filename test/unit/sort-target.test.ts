// Sort targets and orders are looked up as own entries of a fixed table: a name every object
// inherits ('toString', 'constructor', '__proto__', ...) is refused before anything is sent,
// never sent as a sort the server ignores.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { roleGrantPermission } from '../../src/admin/index.ts';
import type { FetchLike } from '../../src/core/call-options.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { cmp, Etcd, op } from '../../src/index.ts';

const INHERITED = [
  'toString',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
];

function client(): { etcd: Etcd; sent: string[] } {
  const sent: string[] = [];
  const fetch: FetchLike = async (request) => {
    sent.push(request.url);
    return Response.json({ header: { revision: '1' } });
  };
  return { etcd: new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch }), sent };
}

describe('sort targets, orders and comparison operators inherited from Object.prototype are refused', () => {
  for (const name of INHERITED) {
    test(`range refuses sort target ${JSON.stringify(name)} with InvalidArgumentError and sends nothing`, async () => {
      const { etcd, sent } = client();
      try {
        await assert.rejects(etcd.range({ prefix: 'a/' }, { sort: { target: name as never } }), InvalidArgumentError);
        assert.deepEqual(sent, []);
      } finally {
        etcd.close();
      }
    });

    test(`grantPermission refuses permission type ${JSON.stringify(name)} with InvalidArgumentError and sends nothing`, async () => {
      const { etcd, sent } = client();
      try {
        await assert.rejects(
          roleGrantPermission(etcd, 'reader', name as never, { prefix: 'a/' }),
          InvalidArgumentError,
        );
        assert.deepEqual(sent, []);
      } finally {
        etcd.close();
      }
    });

    test(`range refuses sort order ${JSON.stringify(name)} with InvalidArgumentError and sends nothing`, async () => {
      const { etcd, sent } = client();
      try {
        await assert.rejects(
          etcd.range({ prefix: 'a/' }, { sort: { target: 'key', order: name as never } }),
          InvalidArgumentError,
        );
        assert.deepEqual(sent, []);
      } finally {
        etcd.close();
      }
    });

    test(`op.range in a txn refuses sort target ${JSON.stringify(name)} with InvalidArgumentError`, async () => {
      const { etcd, sent } = client();
      try {
        await assert.rejects(
          async () =>
            etcd
              .txn()
              .then(op.range({ prefix: 'a/' }, { sort: { target: name as never } }))
              .commit(),
          InvalidArgumentError,
        );
        assert.deepEqual(sent, []);
      } finally {
        etcd.close();
      }
    });
  }

  for (const name of INHERITED) {
    test(`a txn comparison refuses operator ${JSON.stringify(name)} with InvalidArgumentError`, () => {
      assert.throws(() => cmp.value('k', name as never, 'v'), InvalidArgumentError);
      assert.throws(() => cmp.version('k', name as never, 1), InvalidArgumentError);
    });
  }

  test('every documented sort target and order is still accepted', async () => {
    const { etcd, sent } = client();
    try {
      for (const target of ['key', 'version', 'createRevision', 'modRevision', 'value'] as const) {
        for (const order of ['none', 'ascend', 'descend'] as const)
          await etcd.range({ prefix: 'a/' }, { sort: { target, order } });
      }
      assert.equal(sent.length, 15);
    } finally {
      etcd.close();
    }
  });
});
