// A Cloudflare worker (run by workerd) that runs the smoke suite against the etcd named in the request.
import * as lib from './etcd-fetch.browser.js';
import { smoke } from './smoke.js';

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const endpoint = params.get('etcd');
    const auth = params.has('username')
      ? { username: params.get('username'), password: params.get('password') }
      : undefined;
    try {
      const checks = await smoke(lib, endpoint, 'workerd', auth);
      return new Response(checks.join('\n'));
    } catch (error) {
      return new Response(String(error?.stack ?? error), { status: 500 });
    }
  },
};
