// Saved connection profiles (in this browser's localStorage): endpoints, user name, relay mode,
// and the password only when the user asks for it.
import { $, el, note } from './dom.js';

const STORE = 'etcd-playground.profiles';

export function loadProfiles() {
  try {
    const list = JSON.parse(localStorage.getItem(STORE) ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function saveProfiles(list) {
  localStorage.setItem(STORE, JSON.stringify(list));
}

function renderProfiles(chosen = '') {
  const select = $('#profile');
  select.replaceChildren(
    el('option', { value: '', textContent: '(none)' }),
    ...loadProfiles().map((p) => el('option', { value: p.name, textContent: p.name })),
  );
  select.value = chosen;
}

function fill(profile) {
  $('#endpoints').value = profile.endpoints.join(',');
  $('#username').value = profile.username ?? '';
  $('#password').value = profile.password ?? '';
  $('#relay-mode').checked = profile.relay === true;
  $('#profile-name').value = profile.name;
  $('#profile-password').checked = profile.password !== undefined;
}

/** `connect` is called after a profile is picked. */
export function initProfiles(connect) {
  renderProfiles();
  const message = $('#profile-message');
  $('#profile').addEventListener('change', () => {
    const profile = loadProfiles().find((p) => p.name === $('#profile').value);
    if (!profile) return;
    fill(profile);
    note(message, `loaded “${profile.name}”`);
    connect();
  });
  $('#profile-save').addEventListener('click', () => {
    const name = $('#profile-name').value.trim() || $('#endpoints').value.trim();
    const profile = {
      name,
      endpoints: $('#endpoints')
        .value.split(',')
        .map((e) => e.trim())
        .filter(Boolean),
      username: $('#username').value.trim(),
      relay: $('#relay-mode').checked,
      ...($('#profile-password').checked ? { password: $('#password').value } : {}),
    };
    saveProfiles([...loadProfiles().filter((p) => p.name !== name), profile]);
    renderProfiles(name);
    note(
      message,
      `saved “${name}”${profile.password === undefined ? ' (without the password)' : ' (with the password, in this browser)'}`,
    );
  });
  $('#profile-delete').addEventListener('click', () => {
    const name = $('#profile').value;
    if (!name) return note(message, 'pick a saved connection first', 'error');
    saveProfiles(loadProfiles().filter((p) => p.name !== name));
    renderProfiles();
    note(message, `deleted “${name}”`);
  });
}
