import { Etcd, isEtcdError } from '/dist/etcd-fetch.browser.js';

const $ = (selector) => document.querySelector(selector);
let etcd;

function show(message, kind = 'ok') {
  $('#status').textContent = message;
  $('#status').className = kind;
}

function report(error) {
  const text = isEtcdError(error) ? `${error.name}${error.code === undefined ? '' : ` (code ${error.code})`}: ${error.message}` : String(error);
  show(text, 'error');
  $('#output').textContent = text;
}

async function connect(endpoints) {
  etcd = new Etcd({ endpoints: endpoints.split(',').map((e) => e.trim()).filter(Boolean) });
  const { revision } = await etcd.range({ prefix: '', countOnly: true });
  show(`connected, revision ${revision}`);
  await list();
}

async function list() {
  const prefix = $('#prefix').value;
  const { kvs, count } = await etcd.range({ prefix, limit: 500 });
  const body = $('#keys tbody');
  body.replaceChildren(
    ...kvs.map((kv) => {
      const row = document.createElement('tr');
      const cells = [kv.keyText, kv.valueText, String(kv.version), String(kv.modRevision)];
      for (const [i, text] of cells.entries()) {
        const cell = document.createElement('td');
        cell.textContent = text;
        if (i === 1) cell.className = 'value';
        row.append(cell);
      }
      const actions = document.createElement('td');
      const remove = document.createElement('button');
      remove.textContent = 'Delete';
      remove.dataset.key = kv.keyText;
      remove.addEventListener('click', () => remove_(kv.key, kv.keyText).catch(report));
      actions.append(remove);
      row.append(actions);
      return row;
    }),
  );
  $('#keys').dataset.count = String(count);
}

async function remove_(key, label) {
  if (!confirm(`Delete ${label}?`)) return;
  await etcd.delete(key);
  show(`deleted ${label}`);
  await list();
}

$('#connect').addEventListener('submit', (event) => {
  event.preventDefault();
  connect($('#endpoints').value).catch(report);
});
$('#list').addEventListener('submit', (event) => {
  event.preventDefault();
  list().catch(report);
});
$('#put').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const { revision } = await etcd.put($('#put-key').value, $('#put-value').value);
    show(`put at revision ${revision}`);
    await list();
  } catch (error) {
    report(error);
  }
});
$('#get').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const kv = await etcd.get($('#get-key').value);
    $('#output').textContent = kv ? JSON.stringify(kv, null, 2) : '(no such key)';
  } catch (error) {
    report(error);
  }
});

const config = await fetch('/config.json').then((r) => r.json()).catch(() => ({ endpoints: ['http://127.0.0.1:2379'] }));
$('#endpoints').value = config.endpoints.join(',');
connect($('#endpoints').value).catch(report);
