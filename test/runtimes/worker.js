// A Cloudflare worker (run by workerd) that runs the smoke suite against the etcd named in the request.
import * as lib from './etcd-fetch.browser.js';
import { smoke } from './smoke.js';

export default {
  async fetch(request) {
    const endpoint = new URL(request.url).searchParams.get('etcd');
    try {
      const checks = await smoke(lib, endpoint, 'workerd');
      return new Response(checks.join('\n'));
    } catch (error) {
      return new Response(String(error?.stack ?? error), { status: 500 });
    }
  },
};
