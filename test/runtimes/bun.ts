// bun test/runtimes/bun.ts
import * as lib from 'etcd-fetch';
import { smoke } from './smoke.js';

const checks = await smoke(lib, Bun.env.ETCD_ENDPOINT!, 'bun', {
  username: Bun.env.ETCD_USERNAME!,
  password: Bun.env.ETCD_PASSWORD!,
});
console.log(checks.join('\n'));
