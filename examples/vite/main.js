// Vite resolves etcd-fetch from npm and bundles only what this file uses.
import { Etcd } from 'etcd-fetch';

// VITE_ETCD_ENDPOINTS=http://127.0.0.1:2379 npm run dev (etcd must allow the page's origin: etcd --cors)
const etcd = new Etcd({ endpoints: import.meta.env.VITE_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379' });
const prefix = 'examples/vite/flags/';

async function show() {
  const { kvs } = await etcd.range({ prefix });
  document.querySelector('#flags').replaceChildren(
    ...kvs.map((kv) =>
      Object.assign(document.createElement('li'), {
        textContent: `${kv.keyText.slice(prefix.length)}: ${kv.valueText}`,
      }),
    ),
  );
}

document.querySelector('#add').addEventListener('submit', async (event) => {
  event.preventDefault();
  await etcd.put(prefix + document.querySelector('#name').value, 'on');
  await show();
});

await show();
