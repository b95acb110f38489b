// Dark mode: follows the system until the user picks, then remembers the pick in this browser.
import { $ } from './dom.js';

const STORE = 'etcd-playground.theme';

function apply(theme) {
  const dark = theme === 'dark' || (theme === undefined && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  $('#theme').setAttribute('aria-pressed', String(dark));
}

export function initTheme() {
  apply(localStorage.getItem(STORE) ?? undefined);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () =>
    apply(localStorage.getItem(STORE) ?? undefined),
  );
  $('#theme').addEventListener('click', () => {
    const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(STORE, next);
    apply(next);
  });
}
