// ETCD_ENDPOINTS=http://127.0.0.1:2379 node index.js
import { Etcd, optionsFromEnv } from 'etcd-fetch';

const etcd = new Etcd(optionsFromEnv()); // ETCD_ENDPOINTS, and ETCD_USERNAME + ETCD_PASSWORD or ETCD_TOKEN
try {
  const watch = etcd.watch({ prefix: 'examples/node/' });
  await watch.ready; // from here on, every change under the prefix is seen

  await etcd.put('examples/node/greeting', 'hello from Node');
  console.log('get:', (await etcd.get('examples/node/greeting'))?.valueText);

  for await (const event of watch) {
    console.log('watch:', event.type, event.kv.keyText, event.kv.valueText);
    break; // leaving the loop closes the watch
  }
} finally {
  etcd.close(); // or `await using etcd = new Etcd(optionsFromEnv())` on Node 24
}
