// ETCD_ENDPOINTS=http://127.0.0.1:2379 bun index.ts
import { Etcd, optionsFromEnv } from 'etcd-fetch';

await using etcd = new Etcd(optionsFromEnv()); // reads process.env (Bun also loads .env files)

// A lease: the key lives as long as the lease is kept alive (this client does it for you).
const lease = await etcd.grant(10);
await etcd.put('examples/bun/worker-1', 'alive', { lease });
console.log('get:', (await etcd.get('examples/bun/worker-1'))?.valueText);

await lease.revoke(); // the key goes with the lease
console.log('after revoke:', (await etcd.get('examples/bun/worker-1'))?.valueText ?? 'gone');
