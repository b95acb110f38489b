// bun test/runtimes/bun.ts
import { lib } from './library.ts';
import { smoke } from './smoke.js';

const checks = await smoke(lib, Bun.env.ETCD_ENDPOINT!, 'bun', {
  username: Bun.env.ETCD_USERNAME!,
  password: Bun.env.ETCD_PASSWORD!,
});
console.log(checks.join('\n'));
