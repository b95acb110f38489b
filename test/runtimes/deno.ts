// deno run --allow-net --allow-env test/runtimes/deno.ts
import * as lib from 'etcd-fetch';
import { smoke } from './smoke.js';

const checks = await smoke(lib, Deno.env.get('ETCD_ENDPOINT')!, 'deno');
console.log(checks.join('\n'));
