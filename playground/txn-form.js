// The transaction form: conditions (compare), then operations, else operations; commit; the
// typed result of every operation of the branch that ran.
import { cmp, op } from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, el, keyLabel, onSubmit, utf8 } from './dom.js';

const TARGETS = { value: 'value', version: 'version', create: 'create revision', mod: 'mod revision', lease: 'lease' };
const OPERATORS = ['=', '!=', '<', '>'];
const OPERATIONS = {
  put: 'put',
  get: 'get',
  delete: 'delete',
  'delete-prefix': 'delete prefix',
  'range-prefix': 'range prefix',
};

function selectOf(options, value, label) {
  const select = el('select', { ariaLabel: label });
  for (const [v, label] of Array.isArray(options) ? options.map((o) => [o, o]) : Object.entries(options))
    select.append(el('option', { value: v, textContent: label }));
  if (value !== undefined) select.value = value;
  return select;
}

function removeButton(row) {
  return el('button', {
    type: 'button',
    className: 'remove',
    title: 'remove',
    textContent: '×',
    onclick: () => row.remove(),
  });
}

export function addCompare(init = {}) {
  const row = el('div', { className: 'txn-row compare' });
  row.append(
    el('input', { name: 'key', placeholder: 'key', value: init.key ?? '', ariaLabel: 'compare key' }),
    selectOf(TARGETS, init.target ?? 'value', 'compare target'),
    selectOf(OPERATORS, init.operator ?? '=', 'compare operator'),
    el('input', { name: 'operand', placeholder: 'operand', value: init.operand ?? '', ariaLabel: 'compare operand' }),
    removeButton(row),
  );
  $('#txn-compare').append(row);
  return row;
}

export function addOperation(branch, init = {}) {
  const row = el('div', { className: 'txn-row operation' });
  const kind = selectOf(OPERATIONS, init.kind ?? 'put', `${branch} operation`);
  const value = el('input', {
    name: 'value',
    placeholder: 'value',
    value: init.value ?? '',
    ariaLabel: `${branch} value`,
  });
  const sync = () => (value.hidden = kind.value !== 'put');
  kind.addEventListener('change', sync);
  sync();
  row.append(
    kind,
    el('input', { name: 'key', placeholder: 'key', value: init.key ?? '', ariaLabel: `${branch} key` }),
    value,
    removeButton(row),
  );
  $(`#txn-${branch}`).append(row);
  return row;
}

function comparison(row) {
  const [key, target, operator, operand] = row.querySelectorAll('input, select');
  const text = operand.value.trim();
  const number = () => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new Error(`compare ${TARGETS[target.value]} takes a whole number, got "${text}"`);
    return n;
  };
  switch (target.value) {
    case 'value':
      return cmp.value(key.value, operator.value, operand.value);
    case 'version':
      return cmp.version(key.value, operator.value, number());
    case 'create':
      return cmp.createRevision(key.value, operator.value, number());
    case 'mod':
      return cmp.modRevision(key.value, operator.value, number());
    default:
      return cmp.lease(key.value, operator.value, text || '0');
  }
}

function operation(row) {
  const [kind, key, value] = row.querySelectorAll('input, select');
  switch (kind.value) {
    case 'put':
      return op.put(key.value, value.value);
    case 'get':
      return op.get(key.value);
    case 'delete':
      return op.del(key.value);
    case 'delete-prefix':
      return op.del({ prefix: key.value });
    default:
      return op.range({ prefix: key.value }, { limit: 50 });
  }
}

/** One line per operation result, whatever its kind. */
function describeResult(kind, result) {
  switch (kind) {
    case 'put':
      return `put → revision ${result.revision}`;
    case 'get':
      return result
        ? `get ${result.keyText} → ${JSON.stringify(result.valueText)} (version ${result.version}, mod rev ${result.modRevision})`
        : 'get → (no such key)';
    case 'delete':
    case 'delete-prefix':
      return `delete → ${result.deleted} key(s) deleted`;
    default:
      return `range → ${result.count} key(s)${result.more ? ' (first 50)' : ''}: ${result.kvs.map((kv) => `${keyLabel(kv.key)}=${JSON.stringify(kv.valueText)}`).join(', ')}`;
  }
}

async function commit() {
  const compares = [...document.querySelectorAll('#txn-compare .txn-row')].map(comparison);
  const rows = {
    then: [...document.querySelectorAll('#txn-then .txn-row')],
    else: [...document.querySelectorAll('#txn-else .txn-row')],
  };
  const result = await session.etcd
    .txn()
    .if(...compares)
    .then(...rows.then.map(operation))
    .else(...rows.else.map(operation))
    .commit();
  const ran = result.succeeded ? rows.then : rows.else;
  const lines = result.results.map((r, i) => describeResult(ran[i].querySelector('select').value, r));
  const output = $('#txn-result');
  output.dataset.succeeded = String(result.succeeded);
  output.replaceChildren(
    el('strong', {
      textContent: `${result.succeeded ? 'succeeded: "then" ran' : 'failed: "else" ran'} at revision ${result.revision}`,
    }),
    el('ol', {}, ...lines.map((line) => el('li', { textContent: line }))),
  );
  // The watch reports the writes; without one, tell the panels ourselves.
  const wrote = ran.some((row) => ['put', 'delete', 'delete-prefix'].includes(row.querySelector('select').value));
  if (wrote && !session.watching) {
    for (const row of ran) {
      const [kind, key] = row.querySelectorAll('input, select');
      if (kind.value === 'put') session.changed('put', utf8(key.value), result.revision);
      else if (kind.value === 'delete') session.changed('delete', utf8(key.value), result.revision);
      else if (kind.value === 'delete-prefix') session.emit('refresh');
    }
  }
}

export function initTxnForm() {
  $('#txn-add-compare').addEventListener('click', () => addCompare());
  $('#txn-add-then').addEventListener('click', () => addOperation('then'));
  $('#txn-add-else').addEventListener('click', () => addOperation('else'));
  onSubmit($('#txn-form'), commit, $('#txn-message'));
  // An example to start from: create a key only if it does not exist yet.
  addCompare({ key: 'demo/counter', target: 'version', operator: '=', operand: '0' });
  addOperation('then', { kind: 'put', key: 'demo/counter', value: '1' });
  addOperation('else', { kind: 'get', key: 'demo/counter' });
}
