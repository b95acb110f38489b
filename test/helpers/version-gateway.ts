// An HTTP proxy in front of a real etcd (Debian's 3.4.23) that answers the way other etcd
// releases do, so the integration suites can prove the client against 3.4, 3.5, 3.6 and 3.7.
// Node-only, for tests. `ETCD_GATEWAY` picks the version (see useEtcd in ./etcd.ts). Each rule
// names the source it was read from: etcd-io/etcd and grpc-ecosystem/grpc-gateway at the branch
// or tag given. Versions mean the latest patch release of each line (3.4.45, 3.5.36, 3.6.17,
// 3.7.4), except `3.4.23`, upstream's own build of that release. The 3.5-3.7 rules are held to
// the real servers' answers (test/integration/real-versions.test.ts); the suites themselves run
// against those real servers, so the imitation now serves what none of them shows: the latest
// 3.4 and upstream's 3.4.23.
// What the 3.4.23 behind it cannot do is imitated only as far as it holds without pretending: the
// downgrade route validates (and cancels nothing) but never enables a downgrade, and 3.6+'s status
// fields say that no downgrade is under way.
//
// Which gateway each release pins (go.mod): Debian's 3.4.23 grpc-gateway 1.6.4 (Debian's package),
// upstream 3.4.23 v1.9.5, 3.4.24+ v1.11.0, 3.5 v1.16.0, 3.6 v2.26.3, 3.7 v2.29.0.
//
// Not imitated (the client never sends them): URL-safe or unpadded base64 (accepted by v2's
// protojson), `Authorization: Bearer` (accepted from 3.5.32 / 3.6.13 / 3.7.0), a watch from
// `start_revision: -1` (refused from 3.4.38 / 3.5.24 / 3.6.6).
// `/v3/maintenance/hashkv` (3.5.10+) is served with the real member's own HashKV, asked over gRPC
// (./grpc-hashkv.ts): 3.4 has the RPC, only not its gateway route.
// Streams stay streams: answers are rewritten line by line as they arrive.
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { grpcHashKV } from './grpc-hashkv.ts';

export type GatewayVersion = '3.4' | '3.4.23' | '3.5' | '3.6' | '3.7';
export const GATEWAY_VERSIONS: readonly GatewayVersion[] = ['3.4', '3.4.23', '3.5', '3.6', '3.7'];

export interface VersionGateway {
  /** The imitation's URL, to give the client instead of the real etcd's. */
  readonly endpoint: string;
  readonly version: GatewayVersion;
  close(): Promise<void>;
}

export interface VersionGatewayOptions {
  /** The real etcd's client URL (http). */
  upstream: string;
  version: GatewayVersion;
}

const STREAM_PATHS = new Set(['/v3/watch', '/v3/lease/keepalive', '/v3/election/observe', '/v3/maintenance/snapshot']);

const LEARNER_REFUSAL = 'etcdserver: rpc not supported for learner';

// --- rules -------------------------------------------------------------------------------------

/** grpc-gateway v1 (3.4, 3.5) or v2 (3.6, 3.7) shapes. */
function family(version: GatewayVersion): 'v1' | 'v2' {
  return version === '3.6' || version === '3.7' ? 'v2' : 'v1';
}

/**
 * gRPC code to HTTP status.
 * grpc-gateway v1.16.0 runtime/errors.go HTTPStatusFromCode: Canceled 408, FailedPrecondition 400
 *   (400 since v1.9.5, commit f37ac2a6; Debian's 1.6.4 says 412, as observed here).
 * grpc-gateway v2.26.3 / v2.29.0 runtime/errors.go HTTPStatusFromCode: Canceled 499 (since v2.13.0).
 */
export function statusOfCode(code: number, version: GatewayVersion): number {
  const table: Record<number, number> = {
    0: 200,
    1: family(version) === 'v2' ? 499 : 408,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
  };
  return table[code] ?? 500;
}

/**
 * A unary error body.
 * v1.11.0 (3.4.24+) runtime/errors.go errorBody and v1.16.0 (3.5) runtime/errors.go
 *   DefaultHTTPError with internal/errors.proto: `{"error","code","message"}`, compact, empty
 *   details omitted (etcd release-3.5 server/embed/serve.go: gw.NewServeMux() with the default
 *   `JSONPb{OrigName: true}`).
 * v2.26.3 runtime/errors.go DefaultHTTPErrorHandler: the google.rpc.Status `{"code","message"}`
 *   through protojson with `EmitUnpopulated: false` (etcd release-3.6 server/embed/serve.go).
 */
function unaryErrorBody(code: number, message: string, version: GatewayVersion): string {
  if (family(version) === 'v1') return JSON.stringify({ error: message, code, message });
  return spaced(JSON.stringify({ code, message }));
}

/**
 * A stream's error line.
 * v1.16.0 runtime/handler.go handleForwardResponseStreamError: `{"error":{grpc_code, http_code,
 *   message, http_status}}` with no delimiter after it.
 * v2.26.3 runtime/handler.go handleForwardResponseStreamError: `{"error":{code, message}}` then
 *   the delimiter "\n". Stream lines go through encoding/json (runtime/marshal_jsonpb.go
 *   marshalNonProtoField), so they are compact in both.
 * In both, when no message was written yet the HTTP status follows the code (with grpc-go 1.59+,
 * which 3.4.42+, 3.5.11+, 3.6 and 3.7 use; older ones answered a unary error body instead).
 */
function streamErrorLine(code: number, message: string, version: GatewayVersion): string {
  if (family(version) === 'v2') return `${JSON.stringify({ error: { code, message } })}\n`;
  const http = statusOfCode(code, version);
  return JSON.stringify({
    error: { grpc_code: code, http_code: http, message, http_status: STATUS_TEXT[http] ?? 'Error' },
  });
}

/**
 * An error of the real 3.4.23 as the imitated line gives it. A learner's refusal is Unavailable (503
 * code 14) up to 3.5 and FailedPrecondition (400 code 9) from 3.6 (api/v3rpc/rpctypes/error.go
 * ErrGRPCNotSupportedForLearner in v3.5.36 and v3.6.17; seen on the real 3.6.17 and 3.7.4).
 */
function asLine(error: { code: number; message: string }, version: GatewayVersion): { code: number; message: string } {
  if (family(version) === 'v2' && error.code === 14 && error.message === LEARNER_REFUSAL) return { ...error, code: 9 };
  return error;
}

/**
 * protojson (protobuf-go v1.36.5 internal/encoding/json/encode.go prepareNext) puts a space after
 * every comma of single-line output when `detrand.Bool()` holds, which is fixed per binary (a hash
 * of the executable): 3.6 and 3.7 unary bodies. The imitation always does, so the client is
 * proven never to compare answer text.
 */
function spaced(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    out += c;
    if (inString) {
      if (c === '\\') out += json[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ',') out += ' ';
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const USER_EMPTY = 'etcdserver: user name is empty';
const INVALID_TOKEN = 'etcdserver: invalid auth token';
const DENIED = 'etcdserver: permission denied';

/** The auth store's errors as etcd's rpctypes turn them into gRPC statuses. */
const AUTH_ERRORS: Record<string, { code: number; message: string }> = {
  'auth: permission denied': { code: 7, message: DENIED },
  'auth: user name is empty': { code: 3, message: USER_EMPTY },
  'auth: invalid auth token': { code: 16, message: INVALID_TOKEN },
};

type Requirement = 'user' | 'admin' | 'alarm' | 'lease-renew' | 'lease-time-to-live' | 'lease-list';

/**
 * Calls that need a user while auth is on since the CVE-2026-33413 fix (GHSA-q8m4-xhhv-38mg;
 * 3.4.42, 3.5.28, 3.6.9, 3.7.0; etcd release-3.6 commit 7f73a57b8 in server/etcdserver/v3_server.go,
 * api/v3rpc/key.go, member.go, maintenance.go). Checked against the real 3.5.36, 3.6.17 and 3.7.4
 * (test/servers/, test/integration/real-versions.test.ts): member list, status and the alarm list
 * need any user (`requireAuthInfo` in server.go MemberList and authMaintenanceServer.Status /
 * Alarm GET), not an admin; changing alarms, compaction, hash and hashKV need an admin. Debian's
 * 3.4.23 answers status and member list without a token. Lease revoke's put permission on the
 * lease's keys is checked by the real etcd.
 */
const REQUIREMENTS: Record<string, Requirement> = {
  '/v3/lease/grant': 'user',
  '/v3/lease/revoke': 'user',
  '/v3/lease/timetolive': 'lease-time-to-live',
  '/v3/lease/leases': 'lease-list',
  '/v3/lease/keepalive': 'lease-renew',
  '/v3/kv/compaction': 'admin',
  '/v3/cluster/member/list': 'user',
  '/v3/maintenance/alarm': 'alarm',
  '/v3/maintenance/status': 'user',
};

// --- the proxy ---------------------------------------------------------------------------------

export async function startVersionGateway(options: VersionGatewayOptions): Promise<VersionGateway> {
  const upstream = new URL(options.upstream);
  const { version } = options;
  const agent = new Agent({ keepAlive: true });

  /** One unary call to the real etcd (the imitation's own probes), with the caller's token. */
  const probe = async (
    path: string,
    body: object,
    token?: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(new URL(path, upstream), {
      method: 'POST',
      body: JSON.stringify(body),
      headers: token === undefined ? {} : { authorization: token },
    });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // an empty or plain-text answer: the status says enough
    }
    return { status: response.status, json };
  };

  const authEnabled = async () => {
    const list = await probe('/v3/auth/user/list', {});
    if (list.status === 200) return false;
    if (list.json.message !== LEARNER_REFUSAL) return true;
    // A learner refuses the list whatever auth says, not a serializable read.
    return (await probe('/v3/kv/range', { key: 'AA==', count_only: true, serializable: true })).status !== 200;
  };
  // Any answer but 401 to a read means etcd knows the token (403: known, lacking permission).
  const tokenValid = async (token: string) =>
    (await probe('/v3/kv/range', { key: 'AA==', count_only: true }, token)).status !== 401;
  // etcd lets only admins list roles (auth/store.go RoleList → IsAdminPermitted).
  const isAdmin = async (token: string) => (await probe('/v3/auth/role/list', {}, token)).status === 200;
  // A txn whose compare never holds checks put permission on `key` (apply_auth.go checkTxnAuth
  // checks both branches) without writing anything.
  const mayPut = async (token: string, key: string) =>
    (
      await probe(
        '/v3/kv/txn',
        { compare: [{ key, target: 'VERSION', result: 'LESS', version: '0' }], success: [{ request_put: { key } }] },
        token,
      )
    ).status === 200;

  const mayRead = async (token: string, key: string) =>
    (await probe('/v3/kv/range', { key, count_only: true }, token)).status === 200;
  const keysOfLease = async (id: unknown) =>
    ((await probe('/v3/lease/timetolive', { ID: id, keys: true })).json.keys as string[] | undefined) ?? [];
  const allowedOnKeys = async (ids: unknown[], allowed: (key: string) => Promise<boolean>) => {
    for (const id of ids) for (const key of await keysOfLease(id)) if (!(await allowed(key))) return false;
    return true;
  };

  /** Undefined when the call may go on; otherwise the gRPC error etcd would answer. */
  /** `afterLines`: a stream's requests answered before the refusal (keep-alive). */
  const refusal = async (
    requirement: Requirement,
    token: string | undefined,
    body: string,
  ): Promise<{ code: number; message: string; afterLines?: number } | undefined> => {
    if (!(await authEnabled())) return undefined;
    if (token === undefined || token === '') return { code: 3, message: USER_EMPTY };
    if (!(await tokenValid(token))) return { code: 16, message: INVALID_TOKEN };
    if (requirement === 'user' || (await isAdmin(token))) return undefined;
    const denied = { code: 7, message: DENIED };
    switch (requirement) {
      case 'admin':
        return denied;
      case 'alarm': {
        // authMaintenanceServer.Alarm: GET (action 0, the default) any user, ACTIVATE/DEACTIVATE admin.
        const { action } = JSON.parse(body || '{}') as { action?: unknown };
        return action === undefined || action === 0 || action === 'GET' ? undefined : denied;
      }
      case 'lease-renew': {
        // release-3.6 server/etcdserver/v3_server.go checkLeaseRenew: put permission on every key.
        // Each request of the stream is checked when it is read: the leases before the first refused
        // one are renewed and answered, then the error line ends the stream (seen on 3.7.4).
        const lines = body.split('\n').filter((line) => line.trim() !== '');
        for (const [index, line] of lines.entries()) {
          const { ID } = JSON.parse(line) as { ID?: unknown };
          if (!(await allowedOnKeys([ID], (key) => mayPut(token, key)))) return { ...denied, afterLines: index };
        }
        return undefined;
      }
      case 'lease-time-to-live': {
        // checkLeaseTimeToLive: with keys, range permission on every key.
        const request = JSON.parse(body || '{}') as { ID?: unknown; keys?: unknown };
        if (request.keys !== true) return undefined;
        return (await allowedOnKeys([request.ID], (key) => mayRead(token, key))) ? undefined : denied;
      }
      case 'lease-list': {
        // checkLeaseLeases: range permission on every key of every lease.
        const leases = ((await probe('/v3/lease/leases', {})).json.leases as { ID: unknown }[] | undefined) ?? [];
        return (await allowedOnKeys(
          leases.map((l) => l.ID),
          (key) => mayRead(token, key),
        ))
          ? undefined
          : denied;
      }
    }
  };

  const authStatus = async (token: string | undefined, response: ServerResponse, cors: Record<string, string>) => {
    // AuthStatus (from 3.5.0): admin only while auth is on in 3.5 and 3.6 (release-3.6
    // server/etcdserver/apply/apply_auth.go needAdminPermission); 3.7 lets anyone ask (commit
    // 61cffd5e2, release-3.7 server/etcdserver/apply/auth.go).
    const { header } = (await probe('/v3/maintenance/status', {})).json;
    const enabled = await authEnabled();
    if (enabled && version !== '3.7') {
      const denied = await refusal('admin', token, '');
      if (denied) return sendUnaryError(response, denied.code, denied.message, cors);
    }
    // The field is `authRevision` on the wire: declared in mixed case in rpc.proto (seen on 3.7.4).
    return sendJson(
      response,
      200,
      enabled ? { header, enabled: true, authRevision: '1' } : { header, authRevision: '1' },
      cors,
    );
  };

  /**
   * HashKV's gateway route `/v3/maintenance/hashkv`: in etcd's rpc.proto from 3.5.10 (etcd PR
   * #16490, the 3.5 backport of #16464; before it the route was a duplicate of `/v3/maintenance/hash`
   * and `hashkv` answered 404), in 3.6 and 3.7. Answer (release-3.5
   * server/etcdserver/api/v3rpc/maintenance.go HashKV): `header` (its revision the store's current
   * one), `hash` (uint32: a JSON number), `compact_revision` (-1 before any compaction), and from
   * 3.6 `hash_revision` (the revision hashed: the one asked, or the current one for 0). Zero values
   * omitted, int64s as strings. Errors (a compacted or future revision, a non-admin while auth is
   * on: authMaintenanceServer.HashKV) are the real etcd's own.
   */
  const hashKV: OwnRoute = async (body, token, response, cors) => {
    const request = requestOf(body);
    if (!request) return sendUnaryError(response, 3, 'invalid character in request body', cors);
    const revision = request.revision === undefined ? '0' : String(request.revision);
    let answer: Awaited<ReturnType<typeof grpcHashKV>>;
    try {
      answer = await grpcHashKV(upstream.href, revision, token);
    } catch (error) {
      const { code, details } = error as { code?: unknown; details?: unknown };
      if (typeof code !== 'number') throw error;
      const message = typeof details === 'string' ? details : '';
      // 3.4 and 3.5 return the auth store's error unconverted (UNKNOWN, `auth: permission denied`);
      // 3.6 and 3.7 pass it through togRPCError (release-3.6 api/v3rpc/maintenance.go HashKV),
      // as seen on the real 3.7.4: 403 `etcdserver: permission denied`.
      const converted = family(version) === 'v2' && code === 2 ? AUTH_ERRORS[message] : undefined;
      if (converted) return sendUnaryError(response, converted.code, converted.message, cors);
      return sendUnaryError(response, code, message, cors);
    }
    // hash_revision is new in 3.6 (api/etcdserverpb/rpc.proto: etcd_version_field "3.6"); 3.5.36 has none.
    const hashRevision = version === '3.5' ? undefined : revision === '0' ? answer.header.revision : revision;
    return sendJson(
      response,
      200,
      withoutZeros({
        header: answer.header,
        hash: answer.hash,
        compact_revision: answer.compact_revision,
        hash_revision: hashRevision,
      }),
      cors,
    );
  };

  /**
   * `/v3/maintenance/downgrade` (3.5+; 3.4 has no route). What the real 3.5.36, 3.6.17 and 3.7.4
   * answer while no downgrade is under way (release-3.5 server/etcdserver/v3_server.go Downgrade,
   * release-3.6 server/etcdserver/version/version.go): VALIDATE of the next minor version down
   * answers the cluster version (`3.5.0` on 3.5, `3.6` from 3.6 on: version.Cluster), any other
   * version is 400 code 3; CANCEL is 400 code 9 on 3.5 and answers the cluster version from 3.6 on.
   * Only an admin may ask while auth is on (authMaintenanceServer.Downgrade). ENABLE of an allowed
   * version would start a downgrade, which the 3.4.23 behind the imitation cannot do: it is refused
   * with an error no etcd gives (501 code 12), so a test that tries it fails instead of passing.
   */
  const downgradeCall: OwnRoute = async (body, token, response, cors) => {
    const request = requestOf(body);
    if (!request) return sendUnaryError(response, 3, 'invalid character in request body', cors);
    let action = request.action ?? 0;
    if (typeof action === 'string') {
      const index = DOWNGRADE_ACTIONS.indexOf(action);
      // v1's jsonpb refuses an unknown name; v2's protojson (DiscardUnknown) reads it as 0, VALIDATE.
      if (index === -1 && family(version) === 'v1')
        return sendUnaryError(
          response,
          3,
          `unknown value ${JSON.stringify(JSON.stringify(action))} for enum etcdserverpb.DowngradeRequest.DowngradeAction`,
          cors,
        );
      action = Math.max(index, 0);
    }
    const denied = await refusal('admin', token, body);
    if (denied) return sendUnaryError(response, denied.code, denied.message, cors);
    const minor = Number(version.split('.')[1]);
    const answer = async () =>
      sendJson(
        response,
        200,
        {
          header: (await probe('/v3/maintenance/status', {})).json.header,
          version: version === '3.5' ? '3.5.0' : version,
        },
        cors,
      );
    if (action === 2) {
      if (version === '3.5') return sendUnaryError(response, 9, 'etcdserver: no inflight downgrade job', cors);
      return answer();
    }
    if (action !== 0 && action !== 1) return sendUnaryError(response, 2, 'etcdserver: unknown method', cors);
    const target = clusterVersion(typeof request.version === 'string' ? request.version : '');
    if (target === undefined)
      return sendUnaryError(response, 3, 'etcdserver: wrong downgrade target version format', cors);
    if (target.major !== 3 || target.minor !== minor - 1)
      return sendUnaryError(response, 3, 'etcdserver: invalid downgrade target version', cors);
    if (action === 0) return answer();
    return sendUnaryError(
      response,
      12,
      `the imitation of etcd ${version} cannot enable a downgrade of the etcd 3.4.23 behind it`,
      cors,
    );
  };

  /**
   * 3.6's status fields (api/etcdserverpb/rpc.proto StatusResponse 11-13, after isLearner, so
   * appended): `storageVersion` `3.6.0` / `3.7.0` as a member of that line that was never downgraded
   * says; `dbSizeQuota` the real member's quota, read from its `etcd_server_quota_backend_bytes`
   * metric (3.4 has it); `downgradeInfo` `{}`, none under way (seen on 3.6.17 and 3.7.4).
   */
  const withStatusFields = async (text: string) => {
    const metrics = await (await fetch(new URL('/metrics', upstream))).text();
    const quota = /^etcd_server_quota_backend_bytes (\S+)$/m.exec(metrics)?.[1];
    const answer = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify({
      ...answer,
      storageVersion: `${version}.0`,
      dbSizeQuota: quota === undefined ? undefined : String(Number(quota)),
      downgradeInfo: {},
    });
  };

  const sendJson = (response: ServerResponse, status: number, body: object, cors: Record<string, string>) => {
    const text = family(version) === 'v2' ? spaced(JSON.stringify(body)) : JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', ...cors }).end(text);
  };

  const sendUnaryError = (response: ServerResponse, code: number, message: string, cors: Record<string, string>) => {
    const status = statusOfCode(code, version);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...cors };
    // v2 runtime/errors.go DefaultHTTPErrorHandler: Unauthenticated sets WWW-Authenticate.
    if (code === 16 && family(version) === 'v2') headers['www-authenticate'] = message;
    response.writeHead(status, headers).end(unaryErrorBody(code, message, version));
  };

  /** A stream refused before its first message: the status follows the code (see streamErrorLine). */
  const sendStreamError = (
    response: ServerResponse,
    code: number,
    message: string,
    headers: Record<string, unknown>,
  ) => {
    response
      .writeHead(statusOfCode(code, version), { 'content-type': 'application/json', ...headers })
      .end(streamErrorLine(code, message, version));
  };

  const server = createServer((incoming, response) => {
    void handle(incoming, response).catch((error: unknown) => {
      // The real etcd went away (killed, restarted): drop the connection, as a dead etcd would.
      if (!response.headersSent) response.socket?.destroy();
      else response.destroy(error as Error);
    });
  });

  const handle = async (incoming: IncomingMessage, response: ServerResponse) => {
    const path = new URL(incoming.url ?? '/', 'http://x').pathname;
    const body = await readAll(incoming);
    const token = typeof incoming.headers.authorization === 'string' ? incoming.headers.authorization : undefined;
    const cors = corsHeaders(incoming);
    if (incoming.method === 'POST' && version !== '3.4.23') {
      if (path === '/v3/auth/status' && version !== '3.4') return authStatus(token, response, cors);
      if (path === '/v3/maintenance/hashkv' && version !== '3.4') return hashKV(body, token, response, cors);
      if (path === '/v3/maintenance/downgrade' && version !== '3.4') return downgradeCall(body, token, response, cors);
      const requirement = REQUIREMENTS[path];
      const denied = requirement === undefined ? undefined : await refusal(requirement, token, body);
      if (denied?.afterLines) {
        const answered = `${body
          .split('\n')
          .filter((line) => line.trim() !== '')
          .slice(0, denied.afterLines)
          .join('\n')}\n`;
        const upstreamResponse = await forward(incoming, answered, response);
        return relayStream(upstreamResponse, response, { trailer: denied });
      }
      if (denied) {
        if (STREAM_PATHS.has(path)) return sendStreamError(response, denied.code, denied.message, cors);
        return sendUnaryError(response, denied.code, denied.message, cors);
      }
    }
    // From 3.5 a token is ignored while auth is off (seen on 3.5.36 and 3.7.4); 3.4.23 answers 401.
    if (token !== undefined && !version.startsWith('3.4') && !(await authEnabled()))
      delete incoming.headers.authorization;
    const upstreamResponse = await forward(incoming, body, response);
    if (STREAM_PATHS.has(path) && upstreamResponse.statusCode === 200) {
      const dropped = path === '/v3/watch' && !version.startsWith('3.4') ? droppedProgressAnswers(body) : undefined;
      return relayStream(upstreamResponse, response, { dropped });
    }
    let text = await readAll(upstreamResponse);
    // 3.4's alarm answer has no header; 3.5+ fill it in (seen on 3.5.36 and 3.7.4).
    if (path === '/v3/maintenance/alarm' && upstreamResponse.statusCode === 200 && !version.startsWith('3.4')) {
      const answer = JSON.parse(text) as Record<string, unknown>;
      if (answer.header === undefined)
        text = JSON.stringify({ header: (await probe('/v3/maintenance/status', {})).json.header, ...answer });
    }
    if (path === '/v3/maintenance/status' && upstreamResponse.statusCode === 200 && family(version) === 'v2')
      text = await withStatusFields(text);
    const status = upstreamResponse.statusCode ?? 502;
    // Upstream 3.4.23 (gateway v1.9.5 with golang/protobuf 1.4.3) panics marshaling any error body:
    // net/http drops the connection with no answer (fixed in 3.4.24 by etcd PR #15088).
    if (version === '3.4.23' && status !== 200 && parseError(text) !== undefined) return response.socket?.destroy();
    const headers = { ...upstreamResponse.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    if (status === 200 || !path.startsWith('/v3/')) {
      const out = family(version) === 'v2' && isJson(text) ? spaced(text) : text;
      return response.writeHead(status, headers).end(out);
    }
    const parsed = parseError(text);
    if (parsed === undefined) {
      // Unknown path (404) or wrong method (405), answered in text/plain by 3.4's mux.
      if (family(version) === 'v2' && (status === 404 || status === 405)) {
        // v2 runtime/errors.go defaultRoutingErrorHandler: 404 → NotFound, 405 → Unimplemented (501).
        if (status === 404) return sendUnaryError(response, 5, 'Not Found', cors);
        return sendUnaryError(response, 12, 'Method Not Allowed', cors);
      }
      return response.writeHead(status, headers).end(text);
    }
    const error = asLine(parsed, version);
    return sendUnaryError(response, error.code, error.message, cors);
  };

  const forward = (incoming: IncomingMessage, body: string, response: ServerResponse) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const headers = { ...incoming.headers, host: upstream.host };
      delete headers['content-length'];
      const outgoing = httpRequest(
        {
          agent,
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        resolve,
      );
      outgoing.on('error', reject);
      // A caller that goes away (a watch closed) ends the upstream stream too.
      response.once('close', () => outgoing.destroy());
      outgoing.end(body);
    });

  /**
   * Copies a stream line by line, rewriting etcd 3.4's error line into the version's shape; with
   * `trailer`, ends it with that error line once the upstream's answers are through; `dropped[n]`
   * leaves out the answer to the n-th progress request of a watch body.
   */
  const relayStream = async (
    upstreamResponse: IncomingMessage,
    response: ServerResponse,
    { trailer, dropped }: { trailer?: { code: number; message: string }; dropped?: boolean[] } = {},
  ) => {
    const headers = { ...upstreamResponse.headers };
    delete headers['content-length'];
    upstreamResponse.setEncoding('utf8');
    let tail = '';
    let progressAnswers = 0;
    const emit = (line: string) => {
      if (dropped !== undefined && isProgressAnswer(line) && dropped[progressAnswers++]) return;
      const streamError = streamErrorOf(line);
      const error = streamError && asLine(streamError, version);
      if (error === undefined) {
        if (!response.headersSent) response.writeHead(200, headers);
        response.write(line);
      } else if (!response.headersSent) sendStreamError(response, error.code, error.message, headers);
      else response.end(streamErrorLine(error.code, error.message, version));
    };
    for await (const chunk of upstreamResponse) {
      tail += chunk as string;
      let newline: number;
      while ((newline = tail.indexOf('\n')) !== -1) {
        emit(tail.slice(0, newline + 1));
        tail = tail.slice(newline + 1);
        if (response.writableEnded) return upstreamResponse.destroy();
      }
    }
    if (tail !== '') emit(tail);
    if (!response.headersSent) response.writeHead(200, headers);
    if (!response.writableEnded)
      response.end(trailer ? streamErrorLine(trailer.code, trailer.message, version) : undefined);
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    version,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A unary route the imitation answers itself, from the request's body and bearer token. */
type OwnRoute = (
  body: string,
  token: string | undefined,
  response: ServerResponse,
  cors: Record<string, string>,
) => Promise<void>;

/** A unary request's JSON object (an empty body is `{}`), or undefined when the body is not one. */
function requestOf(body: string): Record<string, unknown> | undefined {
  try {
    const request: unknown = JSON.parse(body || '{}');
    return typeof request === 'object' && request !== null && !Array.isArray(request)
      ? (request as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const DOWNGRADE_ACTIONS: readonly string[] = ['VALIDATE', 'ENABLE', 'CANCEL'];
const SEMVER_IDENTIFIER = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;

/**
 * A downgrade's target as etcd reads it (server/etcdserver/cluster_util.go convertToClusterVersion:
 * coreos/go-semver `major.minor.patch[-pre][+meta]`, else `major.minor` with `.0` added; the patch
 * and the rest dropped), or undefined for "wrong downgrade target version format".
 */
function clusterVersion(text: string): { major: number; minor: number } | undefined {
  const semver = (v: string) => {
    const [rest = '', metadata = ''] = v.split(/\+(.*)/s);
    const [core = '', pre = ''] = rest.split(/-(.*)/s);
    const parts = core.split('.');
    if (parts.length !== 3 || !parts.every((part) => /^[+-]?\d+$/.test(part))) return undefined;
    if ((pre !== '' && !SEMVER_IDENTIFIER.test(pre)) || (metadata !== '' && !SEMVER_IDENTIFIER.test(metadata)))
      return undefined;
    return { major: Number(parts[0]), minor: Number(parts[1]) };
  };
  return semver(text) ?? semver(`${text}.0`);
}

/**
 * Which progress requests of a watch body etcd 3.5+ leaves unanswered (true), in the body's order.
 * release-3.5 server/mvcc/watchable_store.go progressIfSync (the same in 3.6 and 3.7): the answer
 * goes out only if every watcher of the stream is synced and its start revision is not ahead of the
 * store, and there is a watcher to send it through. A watcher created with a start revision is
 * unsynced until the store's sync loop (every 100 ms) has replayed its history, and one created at
 * a revision to come is ahead; so a progress request in the same body as such a create, or before
 * any, is dropped (seen on 3.5.36, 3.6.17 and 3.7.4), and one after creates from now (no start
 * revision) is answered. 3.4 answers every one at once, before any replay. Cancel requests (the
 * client never puts one in a body) are not followed.
 */
function droppedProgressAnswers(body: string): boolean[] {
  const dropped: boolean[] = [];
  let watchers = 0;
  let catchingUp = false;
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    let request: { create_request?: { start_revision?: unknown }; progress_request?: unknown };
    try {
      request = JSON.parse(line) as typeof request;
    } catch {
      return dropped;
    }
    if (request.create_request !== undefined) {
      watchers++;
      const start = request.create_request.start_revision;
      if (start !== undefined && Number(start) !== 0) catchingUp = true;
    } else if (request.progress_request !== undefined) dropped.push(watchers === 0 || catchingUp);
  }
  return dropped;
}

/** etcd 3.4's answer to a progress request: watch ID -1, neither `created` nor events. */
function isProgressAnswer(line: string): boolean {
  if (!line.includes('"watch_id":"-1"')) return false;
  try {
    const { result } = JSON.parse(line) as { result?: { watch_id?: unknown; created?: unknown; events?: unknown } };
    return result?.watch_id === '-1' && result.created === undefined && result.events === undefined;
  } catch {
    return false;
  }
}

function readAll(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** A proto message as the gateways marshal it: fields holding zero values left out. */
function withoutZeros(message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message)) {
    if (value === 0 || value === '0' || value === '' || value === false || value === undefined) continue;
    out[name] = typeof value === 'object' && value !== null ? withoutZeros(value as Record<string, unknown>) : value;
  }
  return out;
}

function isJson(text: string): boolean {
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

/** etcd 3.4's unary error body `{"error","message","code"}`, or undefined when it is not one. */
function parseError(text: string): { code: number; message: string } | undefined {
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; error?: unknown };
    if (typeof body.code !== 'number') return undefined;
    return { code: body.code, message: typeof body.message === 'string' ? body.message : String(body.error ?? '') };
  } catch {
    return undefined;
  }
}

/** etcd 3.4's stream error line `{"error":{"grpc_code",...}}`, or undefined for any other line. */
function streamErrorOf(line: string): { code: number; message: string } | undefined {
  if (!line.startsWith('{"error"')) return undefined;
  line = line.trim();
  try {
    const { error } = JSON.parse(line) as { error?: { grpc_code?: unknown; message?: unknown } };
    if (typeof error?.grpc_code !== 'number') return undefined;
    return { code: error.grpc_code, message: typeof error.message === 'string' ? error.message : '' };
  } catch {
    return undefined;
  }
}

/** The CORS headers etcd (`--cors *`) puts on every answer, for the answers the imitation makes. */
function corsHeaders(incoming: IncomingMessage): Record<string, string> {
  return incoming.headers.origin === undefined
    ? {}
    : {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
        'access-control-allow-headers': 'accept, content-type, authorization',
      };
}
