// A Cloudflare worker (run by workerd) that runs the TLS checks against the etcds named in the
// request. The config (made by the test, see test/integration/tls.test.ts) trusts the test CA in
// the network service that is this worker's global outbound; MUTUAL is a network that also
// presents the client certificate, WRONG_CA one that trusts an unrelated CA only.
import * as lib from './etcd-fetch.browser.js';
import { tlsFailure, tlsSmoke } from './tls-smoke.js';

export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    const tls = params.get('tls');
    const mtls = params.get('mtls');
    const through = (service) => (input, init) => service.fetch(input, init);
    try {
      const result = {
        tls: await tlsSmoke(lib, { endpoint: tls, name: 'workerd-tls' }),
        mtls: await tlsSmoke(lib, { endpoint: mtls, fetch: through(env.MUTUAL), name: 'workerd-mtls' }),
        wrongCa: await tlsFailure(lib, { endpoint: tls, fetch: through(env.WRONG_CA) }),
        noClientCert: await tlsFailure(lib, { endpoint: mtls }),
      };
      return Response.json(result);
    } catch (error) {
      return new Response(String(error?.stack ?? error), { status: 500 });
    }
  },
};
