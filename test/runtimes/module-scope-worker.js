// A Cloudflare worker (run by workerd) that keeps one client at module scope, as workers often
// do, and opens a watch in each request: the watch must be created, or fail with a typed error
// within its deadline, never leave the request hanging.
import * as lib from './etcd-fetch.browser.js';

let etcd;

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    if (!params.has('etcd')) return new Response('ready');
    etcd ??= new lib.Etcd({ endpoints: params.get('etcd'), timeout: 3000 });
    const key = `workerd/module-scope/${params.get('n')}`;
    const started = Date.now();
    const watch = etcd.watch({ key });
    try {
      await watch.ready;
      const put = await etcd.put(key, 'v');
      for await (const event of watch) if (event.revision >= put.revision) break;
      return new Response(`ok watch ${params.get('n')} in ${Date.now() - started} ms`);
    } catch (error) {
      return new Response(`${error?.name}: ${error?.message} after ${Date.now() - started} ms`, { status: 500 });
    } finally {
      watch.close();
    }
  },
};
