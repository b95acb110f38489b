// deno run --allow-net --allow-env test/runtimes/deno.ts
import { lib } from './library.ts';
import { smoke } from './smoke.js';

const checks = await smoke(lib, Deno.env.get('ETCD_ENDPOINT')!, 'deno', {
  username: Deno.env.get('ETCD_USERNAME')!,
  password: Deno.env.get('ETCD_PASSWORD')!,
});
console.log(checks.join('\n'));
