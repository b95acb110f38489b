// What every runtime checks against the TLS etcd, given a `fetch` that trusts the test CA (and
// presents the client certificate, for the mTLS etcd): KV, txn, watch and lease keep-alive.
// Plain JavaScript, no runtime API: Node, Deno, Bun, Chromium and workerd run this same file.
export async function tlsSmoke(lib, { endpoint, fetch, name }) {
  const { Etcd, cmp, op } = lib;
  const etcd = new Etcd({ endpoints: [endpoint], ...(fetch ? { fetch } : {}) });
  const p = `tls/${name}/${Date.now()}-${Math.random().toString(36).slice(2)}/`;
  const checks = [];
  const check = (what, ok) => {
    checks.push(`${ok ? 'ok' : 'FAILED'} ${what}`);
    if (!ok) throw new Error(`${name}: ${what} failed\n${checks.join('\n')}`);
  };
  try {
    const put = await etcd.put(`${p}a`, 'hello');
    check('put over TLS returns a revision', put.revision > 0);
    check('get over TLS returns the value', (await etcd.get(`${p}a`))?.valueText === 'hello');
    const txn = await etcd
      .txn()
      .if(cmp.value(`${p}a`, '=', 'hello'))
      .then(op.put(`${p}a`, 'world'), op.get(`${p}a`))
      .commit();
    check('txn over TLS takes the then branch', txn.succeeded && txn.results[1].valueText === 'world');
    const watch = etcd.watch({ prefix: `${p}w/` });
    await watch.ready;
    await etcd.put(`${p}w/x`, '1');
    for await (const event of watch) {
      check(
        'a watch over TLS receives the put',
        event.type === 'put' && event.kv.keyText === `${p}w/x` && event.kv.valueText === '1',
      );
      break;
    }
    const lease = await etcd.grant(30);
    await etcd.put(`${p}leased`, 'v', { lease });
    const ttl = await lease.keepAliveOnce();
    check('a lease keep-alive over TLS answers its TTL', ttl > 0 && ttl <= 30);
    await lease.revoke();
    check('revoking the lease deletes its key', (await etcd.get(`${p}leased`)) === undefined);
    await etcd.del({ prefix: p });
    return checks;
  } finally {
    await etcd.close?.();
  }
}

/**
 * One get through `fetch`, expected to fail (a CA that did not sign the server's certificate, or
 * no client certificate for an mTLS etcd): the error's name and message and how long it took.
 */
export async function tlsFailure(lib, { endpoint, fetch }) {
  const etcd = new lib.Etcd({ endpoints: [endpoint], ...(fetch ? { fetch } : {}), timeout: 10_000 });
  const started = Date.now();
  try {
    await etcd.get('tls/should-fail');
    return { failed: false, ms: Date.now() - started };
  } catch (error) {
    const causes = [];
    for (let c = error?.cause, depth = 0; c && depth < 5; c = c.cause, depth++)
      causes.push(`${c.name ?? ''} ${c.code ?? ''} ${c.message ?? c}`.trim());
    return {
      failed: true,
      ms: Date.now() - started,
      name: error?.name,
      message: String(error?.message ?? error),
      causes,
    };
  } finally {
    await etcd.close?.();
  }
}
