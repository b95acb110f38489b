import type { CallOptions, WireObject } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { decodeArray, decodeBytes, describe } from '../core/codec.ts';
import {
  InvalidArgumentError,
  MalformedResponseError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnimplementedError,
} from '../core/errors.ts';
import { type KeySelector, Keyspace } from '../core/keyspace.ts';
import { Steps } from './steps.ts';

/**
 * What a permission allows: reading, writing, or both.
 *
 * @example
 * ```ts
 * await roleGrantPermission(etcd, 'reader', 'read', { prefix: 'config/' });
 * ```
 */
export type PermissionType = 'read' | 'write' | 'readwrite';

/**
 * A permission of a role: on one key (`rangeEnd` undefined) or on the keys in `[key, rangeEnd)`.
 *
 * @example
 * ```ts
 * const { permissions } = await roleGet(etcd, 'reader');
 * for (const p of permissions) console.log(p.type, new TextDecoder().decode(p.key));
 * ```
 */
export interface Permission {
  type: PermissionType;
  key: Uint8Array;
  /** Undefined for a single key; `\0` means "to the end of the keyspace". */
  rangeEnd: Uint8Array | undefined;
}

/**
 * Whether authentication is on.
 *
 * @example
 * ```ts
 * const { enabled } = await authStatus(etcd);
 * ```
 */
export interface AuthStatus {
  enabled: boolean;
}

const TYPES: ReadonlyMap<unknown, string> = /* @__PURE__ */ new Map<PermissionType, string>([
  ['read', 'READ'],
  ['write', 'WRITE'],
  ['readwrite', 'READWRITE'],
]);
const FROM_WIRE: Record<string, PermissionType> = { READ: 'read', WRITE: 'write', READWRITE: 'readwrite' };
const plain = /* @__PURE__ */ new Keyspace();

/**
 * Turns authentication on: `/v3/auth/*`. Enabling needs a `root` user holding the `root` role;
 * once enabled, the auth calls need a client authenticated as root. Permissions are on etcd's
 * whole keyspace (a namespaced client does not shift them).
 *
 * @example
 * ```ts
 * await userAdd(etcd, 'root', rootPassword);
 * await roleAdd(etcd, 'root');
 * await userGrantRole(etcd, 'root', 'root');
 * await authEnable(etcd);
 * ```
 */
export async function authEnable(client: Client, options: CallOptions = {}): Promise<void> {
  await coreOf(client).transport.request('/auth/enable', {}, options);
}

/**
 * Turns authentication off.
 *
 * @example
 * ```ts
 * await authDisable(root);
 * ```
 */
export async function authDisable(client: Client, options: CallOptions = {}): Promise<void> {
  await coreOf(client).transport.request('/auth/disable', {}, options);
}

/**
 * Whether etcd has authentication enabled, for any user on any version. etcd 3.5+ answers
 * `/v3/auth/status`, to admins only while authentication is on, so a refusal there means it
 * is on. etcd 3.4 has no such call: this then asks for the user list without a token, which
 * etcd answers only while authentication is disabled ("user name is empty" otherwise).
 *
 * @example
 * ```ts
 * const { enabled } = await authStatus(etcd);
 * ```
 */
export async function authStatus(client: Client, options: CallOptions = {}): Promise<AuthStatus> {
  const { transport } = coreOf(client);
  // Two calls on 3.4, one deadline.
  const steps = new Steps(transport, options, 'auth status');
  try {
    const wire = await transport.request('/auth/status', {}, { ...steps.next(), idempotent: true });
    return { enabled: wire.enabled === true };
  } catch (error) {
    if (error instanceof PermissionDeniedError || isUserNameEmpty(error)) return { enabled: true };
    if (!(error instanceof UnimplementedError)) throw steps.explain(error);
  }
  try {
    await transport.request('/auth/user/list', {}, { ...steps.next(), idempotent: true, anonymous: true });
    return { enabled: false };
  } catch (error) {
    if (isUserNameEmpty(error)) return { enabled: true };
    throw steps.explain(error);
  }
}

/**
 * A token for `username`, for `new Etcd({ auth: { token } })` elsewhere. A client made with
 * `auth: { username, password }` needs no call to this: it authenticates by itself.
 *
 * @example
 * ```ts
 * const token = await authenticate(etcd, 'alice', password);
 * ```
 */
export async function authenticate(
  client: Client,
  username: string,
  password: string,
  options: CallOptions = {},
): Promise<string> {
  const wire = await coreOf(client).transport.request(
    '/auth/authenticate',
    { name: name(username, 'username'), password: secret(password) },
    { ...options, anonymous: true },
  );
  if (typeof wire.token !== 'string')
    throw new MalformedResponseError('authenticate answered no token', { path: '/v3/auth/authenticate' });
  return wire.token;
}

// Users

/**
 * Adds a user with a password.
 *
 * @example
 * ```ts
 * await userAdd(etcd, 'alice', password);
 * ```
 */
export async function userAdd(
  client: Client,
  username: string,
  password: string,
  options: CallOptions = {},
): Promise<void> {
  await coreOf(client).transport.request(
    '/auth/user/add',
    { name: name(username, 'username'), password: secret(password) },
    options,
  );
}

/**
 * A user and its roles.
 *
 * @example
 * ```ts
 * const { roles } = await userGet(etcd, 'alice');
 * ```
 */
export async function userGet(
  client: Client,
  username: string,
  options: CallOptions = {},
): Promise<{ name: string; roles: string[] }> {
  const wire = await coreOf(client).transport.request(
    '/auth/user/get',
    { name: name(username, 'username') },
    { ...options, idempotent: true },
  );
  return { name: username, roles: strings(wire.roles, 'roles') };
}

/**
 * Every user's name.
 *
 * @example
 * ```ts
 * const users = await userList(etcd);
 * ```
 */
export async function userList(client: Client, options: CallOptions = {}): Promise<string[]> {
  return strings(
    (await coreOf(client).transport.request('/auth/user/list', {}, { ...options, idempotent: true })).users,
    'users',
  );
}

/**
 * Deletes a user.
 *
 * @example
 * ```ts
 * await userDelete(etcd, 'alice');
 * ```
 */
export async function userDelete(client: Client, username: string, options: CallOptions = {}): Promise<void> {
  await coreOf(client).transport.request('/auth/user/delete', { name: name(username, 'username') }, options);
}

/**
 * Sets a user's password (etcd revokes the tokens issued with the old one).
 *
 * @example
 * ```ts
 * await userChangePassword(etcd, 'alice', newPassword);
 * ```
 */
export async function userChangePassword(
  client: Client,
  username: string,
  password: string,
  options: CallOptions = {},
): Promise<void> {
  await coreOf(client).transport.request(
    '/auth/user/changepw',
    { name: name(username, 'username'), password: secret(password) },
    options,
  );
}

/**
 * Gives a user a role.
 *
 * @example
 * ```ts
 * await userGrantRole(etcd, 'alice', 'reader');
 * ```
 */
export async function userGrantRole(
  client: Client,
  username: string,
  role: string,
  options: CallOptions = {},
): Promise<void> {
  await coreOf(client).transport.request(
    '/auth/user/grant',
    { user: name(username, 'username'), role: name(role, 'role') },
    options,
  );
}

/**
 * Takes a role from a user.
 *
 * @example
 * ```ts
 * await userRevokeRole(etcd, 'alice', 'reader');
 * ```
 */
export async function userRevokeRole(
  client: Client,
  username: string,
  role: string,
  options: CallOptions = {},
): Promise<void> {
  await coreOf(client).transport.request(
    '/auth/user/revoke',
    { name: name(username, 'username'), role: name(role, 'role') },
    options,
  );
}

// Roles

/**
 * Adds a role (with no permission yet).
 *
 * @example
 * ```ts
 * await roleAdd(etcd, 'reader');
 * ```
 */
export async function roleAdd(client: Client, role: string, options: CallOptions = {}): Promise<void> {
  await coreOf(client).transport.request('/auth/role/add', { name: name(role, 'role') }, options);
}

/**
 * A role and its permissions.
 *
 * @example
 * ```ts
 * const { permissions } = await roleGet(etcd, 'reader');
 * ```
 */
export async function roleGet(
  client: Client,
  role: string,
  options: CallOptions = {},
): Promise<{ name: string; permissions: Permission[] }> {
  const wire = await coreOf(client).transport.request(
    '/auth/role/get',
    { role: name(role, 'role') },
    { ...options, idempotent: true },
  );
  return { name: role, permissions: decodeArray(wire.perm, 'perm').map(decodePermission) };
}

/**
 * Every role's name.
 *
 * @example
 * ```ts
 * const roles = await roleList(etcd);
 * ```
 */
export async function roleList(client: Client, options: CallOptions = {}): Promise<string[]> {
  return strings(
    (await coreOf(client).transport.request('/auth/role/list', {}, { ...options, idempotent: true })).roles,
    'roles',
  );
}

/**
 * Deletes a role.
 *
 * @example
 * ```ts
 * await roleDelete(etcd, 'reader');
 * ```
 */
export async function roleDelete(client: Client, role: string, options: CallOptions = {}): Promise<void> {
  await coreOf(client).transport.request('/auth/role/delete', { role: name(role, 'role') }, options);
}

/**
 * Lets `role` read and/or write one key, a prefix or a range: `{ key }`, `{ prefix }`, `{ from, to }`.
 *
 * @example
 * ```ts
 * await roleGrantPermission(etcd, 'reader', 'read', { prefix: 'config/' });
 * ```
 */
export async function roleGrantPermission(
  client: Client,
  role: string,
  type: PermissionType,
  keys: KeySelector,
  options: CallOptions = {},
): Promise<void> {
  const permType = TYPES.get(type);
  if (permType === undefined)
    throw new InvalidArgumentError(`permission type must be read, write or readwrite, got ${describe(type)}`);
  const perm: WireObject = { permType, ...plain.encode(keys) };
  await coreOf(client).transport.request('/auth/role/grant', { name: name(role, 'role'), perm }, options);
}

/**
 * Takes back the permission granted on exactly these keys.
 *
 * @example
 * ```ts
 * await roleRevokePermission(etcd, 'reader', { prefix: 'config/' });
 * ```
 */
export async function roleRevokePermission(
  client: Client,
  role: string,
  keys: KeySelector,
  options: CallOptions = {},
): Promise<void> {
  await coreOf(client).transport.request(
    '/auth/role/revoke',
    { role: name(role, 'role'), ...plain.encode(keys) },
    options,
  );
}

function decodePermission(wire: unknown): Permission {
  const perm = (typeof wire === 'object' && wire !== null ? wire : {}) as WireObject;
  const type = FROM_WIRE[perm.permType === undefined ? 'READ' : String(perm.permType)];
  if (type === undefined) throw new MalformedResponseError(`unknown permission type ${describe(perm.permType)}`);
  const rangeEnd = decodeBytes(perm.range_end);
  return { type, key: decodeBytes(perm.key), rangeEnd: rangeEnd.length === 0 ? undefined : rangeEnd };
}

function strings(field: unknown, what: string): string[] {
  return decodeArray(field, what).map((s) => {
    if (typeof s !== 'string') throw new MalformedResponseError(`${what} must hold strings, got ${describe(s)}`);
    return s;
  });
}

function name(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '')
    throw new InvalidArgumentError(`${what} must be a non-empty string, got ${describe(value)}`);
  return value;
}

/** Checks a password without ever putting it in the message. */
function secret(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new InvalidArgumentError(
      `password must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`,
    );
  return value;
}

/** etcd's answer to a call without a token while authentication is on. */
function isUserNameEmpty(error: unknown): boolean {
  return error instanceof UnauthenticatedError && /user name is empty/i.test(error.message);
}
