// Users, roles and permissions: list, add, delete, grant, revoke; enable or disable
// authentication after a confirmation that says what happens to every client.
import {
  authDisable,
  authEnable,
  authStatus,
  roleAdd,
  roleDelete,
  roleGet,
  roleGrantPermission,
  roleList,
  roleRevokePermission,
  status,
  userAdd,
  userDelete,
  userGet,
  userGrantRole,
  userList,
  userRevokeRole,
} from '/dist/etcd-fetch.browser.js';
import { session } from './connection.js';
import { $, confirmDialog, describeError, el, keyLabel, note, onSubmit, prefixEnd } from './dom.js';

const message = () => $('#auth-message');
let enabled;

function describePermission(p) {
  if (p.rangeEnd === undefined) return `${p.type} key “${keyLabel(p.key)}”`;
  if (p.rangeEnd.length === 1 && p.rangeEnd[0] === 0) return `${p.type} every key from “${keyLabel(p.key)}”`;
  const end = prefixEnd(p.key);
  if (end && end.length === p.rangeEnd.length && end.every((b, i) => b === p.rangeEnd[i]))
    return `${p.type} prefix “${keyLabel(p.key)}”`;
  return `${p.type} [“${keyLabel(p.key)}”, “${keyLabel(p.rangeEnd)}”)`;
}

async function refresh() {
  const etcd = session.etcd;
  // etcd 3.4 has no auth status call: there, a client that connected with a user name proves
  // authentication is on (etcd refuses to authenticate otherwise), and one without proves it off.
  const { version } = await status(etcd);
  enabled = /^3\.4\./.test(version)
    ? Boolean(session.username)
    : await authStatus(etcd).then(
        (s) => s.enabled,
        () => undefined,
      );
  $('#auth-state').textContent =
    enabled === undefined
      ? 'authentication: unknown (this etcd has no auth status call)'
      : `authentication is ${enabled ? 'enabled' : 'disabled'}`;
  $('#auth-toggle').textContent = enabled ? 'Disable authentication…' : 'Enable authentication…';
  const users = await userList(etcd);
  const details = await Promise.all(users.map((name) => userGet(etcd, name)));
  $('#users tbody').replaceChildren(
    ...details.map((user) =>
      el(
        'tr',
        { dataset: { user: user.name } },
        el('td', { textContent: user.name }),
        el('td', { textContent: user.roles.join(', ') || '—' }),
        el(
          'td',
          {},
          el('button', {
            type: 'button',
            className: 'small danger',
            textContent: 'Delete',
            ariaLabel: `delete user ${user.name}`,
            onclick: () => act(() => deleteUser(user.name)),
          }),
        ),
      ),
    ),
  );
  if (details.length === 0)
    $('#users tbody').append(el('tr', {}, el('td', { colSpan: 3, className: 'empty', textContent: 'no users' })));
  const roles = await roleList(etcd);
  const roleDetails = await Promise.all(roles.map((name) => roleGet(etcd, name)));
  $('#roles tbody').replaceChildren(
    ...roleDetails.map((role) =>
      el(
        'tr',
        { dataset: { role: role.name } },
        el('td', { textContent: role.name }),
        el('td', {
          textContent:
            role.permissions.map(describePermission).join('; ') || (role.name === 'root' ? 'everything' : '—'),
        }),
        el(
          'td',
          {},
          el('button', {
            type: 'button',
            className: 'small danger',
            textContent: 'Delete',
            ariaLabel: `delete role ${role.name}`,
            onclick: () => act(() => deleteRole(role.name)),
          }),
        ),
      ),
    ),
  );
  if (roleDetails.length === 0)
    $('#roles tbody').append(el('tr', {}, el('td', { colSpan: 3, className: 'empty', textContent: 'no roles' })));
}

/** Runs an action, then shows its outcome and the fresh lists. */
async function act(action) {
  let done;
  try {
    done = await action();
  } catch (error) {
    return note(message(), describeError(error), 'error');
  }
  if (done) note(message(), done);
  // Enabling authentication takes this page's rights away until it logs in: the action still succeeded.
  await refresh().catch((error) =>
    note(
      message(),
      `${done ? `${done}; ` : ''}the lists could not be read: ${describeError(error)}`,
      done ? 'pending' : 'error',
    ),
  );
}

async function deleteUser(name) {
  if (!(await confirmDialog(`Delete the user “${name}”? Clients logged in as ${name} stop working.`))) return undefined;
  await userDelete(session.etcd, name);
  return `deleted user ${name}`;
}

async function deleteRole(name) {
  if (!(await confirmDialog(`Delete the role “${name}”? Users holding it lose its permissions.`))) return undefined;
  await roleDelete(session.etcd, name);
  return `deleted role ${name}`;
}

async function toggleAuth() {
  const etcd = session.etcd;
  if (enabled) {
    if (
      !(await confirmDialog(
        'Disable authentication? Anyone who can reach etcd can then read and write every key, without a password.',
        'Disable',
      ))
    )
      return undefined;
    await authDisable(etcd);
    return 'authentication disabled';
  }
  const text =
    'Enable authentication? From then on every client must log in, and reads and writes need a role that grants them. ' +
    'etcd needs a user “root” holding the role “root” first. ' +
    (session.username === 'root'
      ? 'This page stays logged in as root.'
      : 'This page is not logged in as root: log in again as root afterwards.');
  if (!(await confirmDialog(text, 'Enable'))) return undefined;
  await authEnable(etcd);
  return 'authentication enabled';
}

export function initAuthPanel() {
  session.addEventListener(
    'connected',
    () => void refresh().catch((error) => note(message(), describeError(error), 'error')),
  );
  $('#auth-refresh').addEventListener('click', () => act(() => undefined));
  $('#auth-toggle').addEventListener('click', () => act(toggleAuth));
  onSubmit($('#user-form'), () =>
    act(async () => {
      await userAdd(session.etcd, $('#user-name').value.trim(), $('#user-password').value);
      return `added user ${$('#user-name').value.trim()}`;
    }),
  );
  onSubmit($('#role-form'), () =>
    act(async () => {
      await roleAdd(session.etcd, $('#role-name').value.trim());
      return `added role ${$('#role-name').value.trim()}`;
    }),
  );
  const userRole = () => [$('#user-role-user').value.trim(), $('#user-role-role').value.trim()];
  onSubmit($('#user-role-form'), () =>
    act(async () => {
      const [user, role] = userRole();
      await userGrantRole(session.etcd, user, role);
      return `granted role ${role} to ${user}`;
    }),
  );
  $('#user-role-revoke').addEventListener('click', () =>
    act(async () => {
      const [user, role] = userRole();
      await userRevokeRole(session.etcd, user, role);
      return `revoked role ${role} from ${user}`;
    }),
  );
  const keys = () => ($('#perm-prefix').checked ? { prefix: $('#perm-key').value } : { key: $('#perm-key').value });
  onSubmit($('#perm-form'), () =>
    act(async () => {
      await roleGrantPermission(session.etcd, $('#perm-role').value.trim(), $('#perm-type').value, keys());
      return `granted ${$('#perm-type').value} on ${$('#perm-prefix').checked ? 'prefix' : 'key'} “${$('#perm-key').value}” to ${$('#perm-role').value.trim()}`;
    }),
  );
  $('#perm-revoke').addEventListener('click', () =>
    act(async () => {
      await roleRevokePermission(session.etcd, $('#perm-role').value.trim(), keys());
      return `revoked the permission on “${$('#perm-key').value}” from ${$('#perm-role').value.trim()}`;
    }),
  );
}
