// ETCD_ENDPOINTS=http://127.0.0.1:2379 deno task start
import { cmp, Etcd, op, optionsFromEnv } from 'etcd-fetch';

await using etcd = new Etcd(optionsFromEnv()); // reads Deno.env: ETCD_ENDPOINTS, ETCD_USERNAME + ETCD_PASSWORD or ETCD_TOKEN

await etcd.put('examples/deno/greeting', 'hello from Deno');
const { succeeded } = await etcd
  .txn()
  .if(cmp.value('examples/deno/greeting', '=', 'hello from Deno'))
  .then(op.put('examples/deno/seen', 'yes'))
  .commit();
console.log('txn succeeded:', succeeded);
console.log('get:', (await etcd.get('examples/deno/seen'))?.valueText);
