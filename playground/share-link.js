// "Share a read-only live view": asks the playground server for a signed link to one prefix.
// The link carries the prefix and the server's signature only; the server serves the view.
import { $, el, note, onSubmit, utf8 } from './dom.js';

async function create() {
  const prefix = utf8($('#share-link-prefix').value);
  const answer = await fetch('/share', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prefix: btoa(String.fromCharCode(...prefix)) }),
  });
  if (!answer.ok)
    throw new Error(
      answer.status === 404 ? 'sharing needs the playground server (npm start)' : `the server said ${answer.status}`,
    );
  const { link } = await answer.json();
  const href = new URL(link, location.href).href;
  $('#share-link').value = href;
  $('#share-link-open').replaceChildren(el('a', { href, target: '_blank', rel: 'noopener', textContent: 'open it' }));
  note(
    $('#share-link-message'),
    'anyone with this link sees these keys, read-only and live, until the server restarts',
  );
}

export function initShareLink() {
  onSubmit($('#share-link-form'), create, $('#share-link-message'));
  $('#share-link-copy').addEventListener('click', () => navigator.clipboard?.writeText($('#share-link').value));
}
