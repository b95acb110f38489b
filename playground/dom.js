// Small DOM and bytes helpers shared by the panels.
import { isEtcdError } from '/dist/etcd-fetch.browser.js';

export const $ = (selector, root = document) => root.querySelector(selector);

/** `el('li', { className: 'x', dataset: { key } }, child, 'text')`: an element, never parsed HTML. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node[name] = value;
  }
  node.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

/** The header's status line. */
export function show(message, kind = 'ok') {
  const status = $('#status');
  status.textContent = message;
  status.className = kind;
}

/** A readable one-line description of any error (etcd's code and message when it has them). */
export function describeError(error) {
  if (isEtcdError(error))
    return `${error.name}${error.code === undefined ? '' : ` (code ${error.code})`}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Shows an error where the action was taken: the panel's own message line (the header only without one). */
export function report(error, target) {
  const text = describeError(error);
  if (!target) return show(text, 'error');
  target.textContent = text;
  target.className = 'message error';
}

/** A panel's own message line. */
export function note(target, text, kind = 'ok') {
  target.textContent = text;
  target.className = `message ${kind}`;
}

/** Wraps a submit handler: no page reload; the panel's old error goes, a new one is shown there. */
export function onSubmit(form, handler, messageTarget) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (messageTarget?.classList.contains('error')) note(messageTarget, '');
    Promise.resolve()
      .then(() => handler(event))
      .catch((error) => report(error, messageTarget));
  });
}

/** An in-page confirmation (the `<dialog id="confirm">`); resolves true when confirmed. */
export function confirmDialog(message, action = 'Delete') {
  const dialog = $('#confirm');
  $('#confirm-message', dialog).textContent = message;
  $('#confirm-ok', dialog).textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }),
  );
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const looseDecoder = new TextDecoder();

export const utf8 = (text) => encoder.encode(text);
export const text = (bytes) => looseDecoder.decode(bytes);

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function strictText(bytes) {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Printable text for a key: its UTF-8, or hex when it is binary. */
export function keyLabel(bytes) {
  const decoded = strictText(bytes);
  return decoded !== undefined && !/[\u0000-\u001f]/.test(decoded) ? decoded : `0x${hex(bytes)}`;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Parses "00 ff 1a" / "00ff1a" into bytes; throws on anything else. */
export function parseHex(input) {
  const digits = input.replace(/\s+/g, '').replace(/^0x/i, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error('hex values need pairs of hex digits, e.g. "00 ff 1a"');
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** A classic hex dump (offset, 16 bytes, ASCII), of at most `limit` bytes. */
export function hexDump(bytes, limit = 4096) {
  const lines = [];
  const end = Math.min(bytes.length, limit);
  for (let offset = 0; offset < end; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, end));
    const hexes = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hexes.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > end) lines.push(`… ${bytes.length - end} more bytes`);
  return lines.join('\n');
}

export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function startsWith(bytes, prefix) {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The first key after every key that starts with `prefix` (etcd's range_end of a prefix). */
export function prefixEnd(prefix) {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]++;
      return end;
    }
  }
  return undefined; // every key from the prefix on
}

/** The smallest key after `key`. */
export function nextKey(key) {
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return next;
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** etcdctl shows 64-bit IDs in hex. */
export function hexId(id) {
  try {
    return BigInt(id).toString(16);
  } catch {
    return String(id);
  }
}
