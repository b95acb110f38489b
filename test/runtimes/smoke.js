// The smoke suite every runtime runs against the real etcd: plain JavaScript, no Node API, so the
// same file runs in Node, Deno, Bun, Chromium and workerd. `lib` is the imported etcd-fetch module.
export async function smoke(lib, endpoint, name, auth) {
  const { Etcd, authStatus, cmp, op } = lib;
  const etcd = new Etcd({ endpoints: [endpoint], auth });
  const p = `smoke/${name}/${Date.now()}-${Math.random().toString(36).slice(2)}/`;
  const checks = [];
  const check = (what, ok) => {
    checks.push(`${ok ? 'ok' : 'FAILED'} ${what}`);
    if (!ok) throw new Error(`${name}: ${what} failed\n${checks.join('\n')}`);
  };

  const put = await etcd.put(`${p}a`, 'hello');
  check('put returns a revision', put.revision > 0);
  const kv = await etcd.get(`${p}a`);
  check('get returns the value', kv?.valueText === 'hello');
  await etcd.put(`${p}b`, new Uint8Array([0, 255, 195, 40]));
  const bytes = (await etcd.get(`${p}b`)).value;
  check('binary values round-trip', bytes.length === 4 && bytes[1] === 255 && bytes[3] === 40);
  const range = await etcd.range({ prefix: p });
  check('prefix range lists both keys', range.count === 2 && range.kvs[0].keyText === `${p}a`);
  const txn = await etcd
    .txn()
    .if(cmp.value(`${p}a`, '=', 'hello'))
    .then(op.put(`${p}a`, 'world'), op.get(`${p}a`))
    .commit();
  check('txn takes the then branch', txn.succeeded && txn.results[1].valueText === 'world');
  const watch = etcd.watch({ prefix: `${p}w/` });
  await watch.ready;
  await etcd.put(`${p}w/x`, '1');
  await etcd.del(`${p}w/x`);
  const events = [];
  for await (const event of watch) {
    events.push(`${event.type} ${event.kv.keyText.slice(p.length)}`);
    if (events.length === 2) break;
  }
  check('a watch sees a put and a delete', events.join(',') === 'put w/x,delete w/x');
  const lease = await etcd.grant(30);
  await etcd.put(`${p}leased`, 'v', { lease });
  check('a lease carries a key', (await etcd.get(`${p}leased`)).lease === lease.id);
  await lease.revoke();
  check('revoking the lease deletes its key', (await etcd.get(`${p}leased`)) === undefined && lease.lost.aborted);
  const deleted = await etcd.del({ prefix: p });
  check('prefix delete', deleted.deleted === 2);
  if (auth) check('auth is on and the client authenticated', (await authStatus(etcd)).enabled === true);
  let typed = false;
  try {
    await etcd.get(`${p}a`, { revision: put.revision + 1e9 });
  } catch (error) {
    typed = lib.isEtcdError(error) && error.code === 11;
  }
  check('server errors are typed', typed);
  return checks;
}
