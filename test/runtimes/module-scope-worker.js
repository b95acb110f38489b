// A Cloudflare worker (run by workerd) that keeps one client at module scope, as workers often
// do, and opens a watch in each request: the watch must be created, or fail with a typed error
// within its deadline, never leave the request hanging.
// With `collect=MS`, a request watches `prefix` and answers, as JSON, the revision its watch was
// created at and every event revision it saw, once it sees the key `<prefix>stop` or after MS.
import * as lib from './etcd-fetch.browser.js';

let etcd;

async function collect(params) {
  const prefix = params.get('prefix');
  const until = Date.now() + Number(params.get('collect'));
  const watch = etcd.watch({ prefix });
  const revisions = [];
  let stopped = false;
  const timer = { id: undefined };
  try {
    await watch.ready;
    const ready = watch.revision;
    const deadline = new Promise((resolve) => (timer.id = setTimeout(resolve, Math.max(0, until - Date.now()))));
    const read = (async () => {
      for await (const event of watch) {
        if (event.kv.keyText === `${prefix}stop`) {
          stopped = true;
          return;
        }
        revisions.push(event.revision);
      }
    })();
    await Promise.race([read, deadline]);
    return Response.json({ n: params.get('n'), ready, revisions, stopped });
  } catch (error) {
    return new Response(`${error?.name}: ${error?.message}`, { status: 500 });
  } finally {
    clearTimeout(timer.id);
    watch.close();
  }
}

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    if (!params.has('etcd')) return new Response('ready');
    etcd ??= new lib.Etcd({ endpoints: params.get('etcd'), timeout: 3000 });
    if (params.has('collect')) return collect(params);
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
