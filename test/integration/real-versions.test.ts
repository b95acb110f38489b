// The imitation of each etcd line (test/helpers/version-gateway.ts, in front of Debian's 3.4.23)
// against the real server of that line (3.5, 3.6, 3.7 built from etcd's Go modules, test/servers/):
// the same requests, with auth off and on, must get the same answers (status, content type,
// WWW-Authenticate, error code and message, the fields of each body). Values that differ between
// any two servers (IDs, revisions, TTLs, versions, spacing) are compared by type only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EtcdServer, startEtcd } from '../../scripts/etcd.ts';
import { BUILT_LINES, builtEtcd, serverModule } from '../../scripts/etcd-builds.ts';
import { startVersionGateway, type VersionGateway } from '../helpers/version-gateway.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
type Compare = 'status' | 'shape';
interface Probe {
  name: string;
  path: string;
  body: string;
  /** Who asks: a user's token, a made-up one, or nobody. */
  as?: 'root' | 'bob' | 'wrong' | 'bogus';
  method?: string;
  compare?: Compare;
  /** Fields compared by value, beside `code` and `message`. */
  literal?: string[];
}

interface Observation {
  status: number;
  type: string;
  wwwAuthenticate: string | null;
  body?: unknown;
}

const LITERAL = ['code', 'message', 'grpc_code', 'http_code', 'http_status'];

/** A JSON value's shape: object keys in order, `code`/`message` (and `literal`) by value, other leaves by type. */
function shape(value: unknown, literal: string[], key = ''): unknown {
  if (key === 'header') return 'header';
  if (LITERAL.includes(key) || literal.includes(key)) return value;
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0], literal)];
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v, literal, k)]));
  return typeof value;
}

function bodyShape(text: string, literal: string[] = []): unknown {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  try {
    return lines.map((line) => shape(JSON.parse(line), literal));
  } catch {
    return `text: ${text.trim()}`;
  }
}

interface Target {
  endpoint: string;
  tokens: { root?: string; bob?: string };
}

async function observe(target: Target, probe: Probe, lease: Record<string, string>): Promise<Observation> {
  const tokens: Record<string, string | undefined> = { ...target.tokens, wrong: 'not-a-token.1', bogus: 'x.1' };
  const token = probe.as ? tokens[probe.as] : undefined;
  const body = probe.body.replace(/\$(\w+)/g, (_, name: string) => lease[name] ?? name);
  const response = await fetch(`${target.endpoint}${probe.path}`, {
    method: probe.method ?? 'POST',
    ...(probe.method === 'GET' ? {} : { body }),
    headers: token ? { authorization: token } : {},
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const observation: Observation = {
    status: response.status,
    type: (response.headers.get('content-type') ?? '').split(';')[0]!,
    wwwAuthenticate: response.headers.get('www-authenticate'),
  };
  if ((probe.compare ?? 'shape') === 'shape') observation.body = bodyShape(text, probe.literal);
  return observation;
}

/**
 * What a watch stream answers to `body` within `ms`: the kind of each line (created, events,
 * progress: watch ID -1 without either), sorted, since 3.7.4 may answer a progress request before
 * `created`; 'no answer' when not even the headers came.
 */
async function watchLines(endpoint: string, body: string, ms = 1_500): Promise<string[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  let text = '';
  try {
    const response = await fetch(`${endpoint}/v3/watch`, { method: 'POST', body, signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    for (let read = await reader.read(); !read.done; read = await reader.read())
      text += decoder.decode(read.value, { stream: true });
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    if (text === '') return ['no answer'];
  } finally {
    clearTimeout(timer);
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const { result } = JSON.parse(line) as { result?: Record<string, unknown> };
      if (result === undefined) return `other: ${line}`;
      if (result.created) return 'created';
      if (result.events) return 'events';
      return result.watch_id === '-1' ? 'progress' : `other: ${line}`;
    })
    .sort();
}

async function post(endpoint: string, path: string, body: object, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: token ? { authorization: token } : {},
  });
  const json = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

/** root (admin) and bob (read-write on bob/), auth on; a lease of root's and one of bob's bound to a root-only key. */
async function enableAuth(target: Target): Promise<Record<string, string>> {
  const { endpoint } = target;
  await post(endpoint, '/v3/auth/user/add', { name: 'root', password: 'root-Pw' });
  await post(endpoint, '/v3/auth/role/add', { name: 'root' });
  await post(endpoint, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await post(endpoint, '/v3/auth/user/add', { name: 'bob', password: 'bob-Pw' });
  await post(endpoint, '/v3/auth/role/add', { name: 'app' });
  await post(endpoint, '/v3/auth/role/grant', {
    name: 'app',
    perm: { permType: 'READWRITE', key: b64('bob/'), range_end: b64('bob0') },
  });
  await post(endpoint, '/v3/auth/user/grant', { user: 'bob', role: 'app' });
  await post(endpoint, '/v3/auth/enable', {});
  target.tokens.root = (await post(endpoint, '/v3/auth/authenticate', { name: 'root', password: 'root-Pw' }))
    .token as string;
  target.tokens.bob = (await post(endpoint, '/v3/auth/authenticate', { name: 'bob', password: 'bob-Pw' }))
    .token as string;
  const rootLease = (await post(endpoint, '/v3/lease/grant', { TTL: 60 }, target.tokens.root)).ID as string;
  const bobLease = (await post(endpoint, '/v3/lease/grant', { TTL: 60 }, target.tokens.bob)).ID as string;
  const bobFree = (await post(endpoint, '/v3/lease/grant', { TTL: 60 }, target.tokens.bob)).ID as string;
  await post(endpoint, '/v3/kv/put', { key: b64('root-only'), value: b64('v'), lease: bobLease }, target.tokens.root);
  return { rootLease, bobLease, bobFree };
}

/** A downgrade request: its answer's `version` (the cluster version) compared by value. */
const downgradeProbe = (name: string, body: string, as?: Probe['as']): Probe => ({
  name,
  path: '/v3/maintenance/downgrade',
  body,
  literal: ['version'],
  ...(as === undefined ? {} : { as }),
});

const WITHOUT_AUTH: Probe[] = [
  // 3.6's storageVersion, dbSizeQuota (both servers run with the default quota) and downgradeInfo.
  {
    name: 'status',
    path: '/v3/maintenance/status',
    body: '{}',
    literal: ['storageVersion', 'dbSizeQuota', 'downgradeInfo'],
  },
  downgradeProbe('validating a downgrade to 3.4', '{"action":"VALIDATE","version":"3.4"}'),
  downgradeProbe('validating a downgrade to 3.5', '{"action":"VALIDATE","version":"3.5"}'),
  downgradeProbe('validating a downgrade to 3.6', '{"action":"VALIDATE","version":"3.6"}'),
  downgradeProbe('validating a downgrade to 3.3', '{"action":"VALIDATE","version":"3.3"}'),
  downgradeProbe('a downgrade to a malformed version', '{"action":"VALIDATE","version":"x"}'),
  downgradeProbe('enabling a downgrade to 3.3', '{"action":"ENABLE","version":"3.3"}'),
  downgradeProbe('cancelling no downgrade', '{"action":"CANCEL"}'),
  downgradeProbe('an unknown downgrade action', '{"action":"NOPE"}'),
  { name: 'an unknown lease', path: '/v3/lease/revoke', body: '{"ID":"1"}' },
  { name: 'a failed precondition', path: '/v3/auth/authenticate', body: '{"name":"x","password":"y"}' },
  { name: 'an unknown path', path: '/v3/kv/nope', body: '{}' },
  { name: 'a wrong method', path: '/v3/kv/range', body: '', method: 'GET' },
  { name: 'hashKV at revision 1', path: '/v3/maintenance/hashkv', body: '{"revision":"1"}' },
  { name: 'hashKV at a future revision', path: '/v3/maintenance/hashkv', body: '{"revision":"100000"}' },
  { name: 'auth status', path: '/v3/auth/status', body: '{}' },
  { name: 'a token while auth is off', path: '/v3/kv/range', body: '{"key":"YQ=="}', as: 'bogus', compare: 'status' },
  {
    name: 'a duplicate key in a txn',
    path: '/v3/kv/txn',
    body: '{"success":[{"request_put":{"key":"YQ=="}},{"request_put":{"key":"YQ=="}}]}',
  },
  { name: 'a future compaction', path: '/v3/kv/compaction', body: '{"revision":"100000"}' },
];

const WITH_AUTH: Probe[] = [
  { name: 'a keep-alive without a token', path: '/v3/lease/keepalive', body: '{"ID":"$rootLease"}\n' },
  { name: 'a range without a token', path: '/v3/kv/range', body: '{"key":"YQ=="}' },
  { name: 'auth status without a token', path: '/v3/auth/status', body: '{}' },
  { name: 'status without a token', path: '/v3/maintenance/status', body: '{}' },
  { name: 'member list without a token', path: '/v3/cluster/member/list', body: '{}' },
  { name: 'a wrong token', path: '/v3/kv/range', body: '{"key":"YQ=="}', as: 'wrong' },
  { name: 'a keep-alive with a wrong token', path: '/v3/lease/keepalive', body: '{"ID":"$rootLease"}\n', as: 'wrong' },
  { name: 'auth status as a user', path: '/v3/auth/status', body: '{}', as: 'bob' },
  { name: 'status as a user', path: '/v3/maintenance/status', body: '{}', as: 'bob', compare: 'status' },
  { name: 'member list as a user', path: '/v3/cluster/member/list', body: '{}', as: 'bob' },
  { name: 'the alarm list as a user', path: '/v3/maintenance/alarm', body: '{"action":"GET"}', as: 'bob' },
  {
    name: 'disarming as a user',
    path: '/v3/maintenance/alarm',
    body: '{"action":"DEACTIVATE","alarm":"NOSPACE"}',
    as: 'bob',
  },
  { name: 'compaction as a user', path: '/v3/kv/compaction', body: '{"revision":"1"}', as: 'bob' },
  { name: 'hashKV as a user', path: '/v3/maintenance/hashkv', body: '{}', as: 'bob' },
  downgradeProbe('validating a downgrade without a token', '{"action":"VALIDATE","version":"3.3"}'),
  downgradeProbe('validating a downgrade as a user', '{"action":"VALIDATE","version":"3.3"}', 'bob'),
  downgradeProbe('validating a downgrade as root', '{"action":"VALIDATE","version":"3.3"}', 'root'),
  { name: "keeping alive one's own lease", path: '/v3/lease/keepalive', body: '{"ID":"$bobFree"}\n', as: 'bob' },
  {
    name: 'keeping alive a lease on a key the user may not write',
    path: '/v3/lease/keepalive',
    body: '{"ID":"$bobLease"}\n',
    as: 'bob',
  },
  {
    name: 'a keep-alive of two leases, the second refused',
    path: '/v3/lease/keepalive',
    body: '{"ID":"$bobFree"}\n{"ID":"$bobLease"}\n',
    as: 'bob',
  },
  {
    name: "a lease's keys the user may not read",
    path: '/v3/lease/timetolive',
    body: '{"ID":"$bobLease","keys":true}',
    as: 'bob',
  },
  { name: 'the time to live of that lease', path: '/v3/lease/timetolive', body: '{"ID":"$bobLease"}', as: 'bob' },
  { name: 'the lease list as a user', path: '/v3/lease/leases', body: '{}', as: 'bob' },
  { name: 'revoking that lease as a user', path: '/v3/lease/revoke', body: '{"ID":"$bobLease"}', as: 'bob' },
];

for (const line of BUILT_LINES) {
  const binary = builtEtcd(line);
  const { version } = serverModule(line);
  describe(`real etcd ${version} and the imitation of ${line}`, {
    skip: binary === undefined && `etcd ${version} is not built (node scripts/test-prerequisites.ts)`,
  }, () => {
    let real: EtcdServer;
    let debian: EtcdServer;
    let imitation: VersionGateway;
    const targets: { real: Target; imitation: Target } = {
      real: { endpoint: '', tokens: {} },
      imitation: { endpoint: '', tokens: {} },
    };
    before(async () => {
      [real, debian] = await Promise.all([
        startEtcd({ binary: binary! }),
        startEtcd({ binary: process.env.DEBIAN_ETCD_BIN ?? '/usr/bin/etcd' }),
      ]);
      imitation = await startVersionGateway({ upstream: debian.endpoint, version: line });
      targets.real.endpoint = real.endpoint;
      targets.imitation.endpoint = imitation.endpoint;
    });
    after(async () => {
      await imitation?.close();
      await Promise.all([real?.stop(), debian?.stop()]);
    });

    const compare = async (
      probes: Probe[],
      leases: { real: Record<string, string>; imitation: Record<string, string> },
    ) => {
      const differences: string[] = [];
      for (const probe of probes) {
        const fromReal = await observe(targets.real, probe, leases.real);
        const fromImitation = await observe(targets.imitation, probe, leases.imitation);
        try {
          assert.deepEqual(fromImitation, fromReal);
        } catch {
          differences.push(
            `${probe.name}: real ${JSON.stringify(fromReal)}, imitation ${JSON.stringify(fromImitation)}`,
          );
        }
      }
      assert.deepEqual(differences, []);
    };

    test(`with auth off, the imitation of ${line} answers as the real etcd ${version}`, async () => {
      await compare(WITHOUT_AUTH, { real: {}, imitation: {} });
    });

    test(`progress requests on a watch stream: the imitation of ${line} answers or drops them as the real etcd ${version}`, async () => {
      const key = b64('progress/k');
      const cases = (revision: number): Array<[string, string[]]> => [
        ['a watcher from now', [`{"create_request":{"key":"${key}"}}`]],
        ['a watcher replaying from revision 1', [`{"create_request":{"key":"${key}","start_revision":"1"}}`]],
        [
          'a watcher resumed at the next revision',
          [`{"create_request":{"key":"${key}","start_revision":"${revision + 1}"}}`],
        ],
        [
          'a watcher from now and one replaying',
          [`{"create_request":{"key":"${key}"}}`, `{"create_request":{"key":"${key}","start_revision":"1"}}`],
        ],
        ['no watcher', []],
      ];
      // Every stream at once, real and imitation: each waits the same while for what comes.
      const [real, imitation] = await Promise.all(
        (['real', 'imitation'] as const).map(async (which) => {
          const { endpoint } = targets[which];
          const { header } = await post(endpoint, '/v3/kv/put', { key, value: b64('v') });
          const revision = Number((header as { revision: string }).revision);
          return Promise.all(
            cases(revision).map(async ([name, creates]) => {
              const kinds = await watchLines(endpoint, [...creates, '{"progress_request":{}}'].join('\n'));
              return `${name}: ${kinds.join(', ')}`;
            }),
          );
        }),
      );
      const seen = { real: real!, imitation: imitation! };
      assert.deepEqual(seen.imitation, seen.real);
      // The rule itself, so that the comparison cannot pass with both sides wrong the same way.
      assert.deepEqual(seen.real, [
        'a watcher from now: created, progress',
        'a watcher replaying from revision 1: created, events',
        'a watcher resumed at the next revision: created',
        'a watcher from now and one replaying: created, created, events',
        'no watcher: no answer',
      ]);
    });

    test(`with auth on, the imitation of ${line} checks users as the real etcd ${version} (CVE-2026-33413 rules)`, async () => {
      const leases = { real: await enableAuth(targets.real), imitation: await enableAuth(targets.imitation) };
      await compare(WITH_AUTH, leases);
    });
  });
}
