// An HTTP proxy in front of a real etcd (Debian's 3.4.23) that answers the way newer etcd
// releases do, so the integration suites can prove the client against 3.5, 3.6 and 3.7 as well.
// Node-only, for tests. Each rule names the source it was read from; `ETCD_GATEWAY` picks the
// version (see useEtcd in ./etcd.ts).
//
// What it imitates, per version:
// - error bodies, status codes and stream error lines of the grpc-gateway the release pins;
// - 404/405 answers of unknown paths and wrong methods;
// - `WWW-Authenticate` on 401s, spaces after commas in unary bodies;
// - `/v3/auth/status` (3.5+), admin only while auth is on;
// - the token checks of the CVE-2026-33413 fix (3.4.42, 3.5.28, 3.6.9 and later), in their latest
//   form: lease calls, member list, alarms and status need a user; keep-alive needs admin or put
//   permission on the lease's keys; compaction needs admin;
// - upstream 3.4.23's empty error bodies (`3.4-upstream`).
// Streams stay streams: answers are rewritten line by line as they arrive.
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';

export type GatewayVersion = '3.4-upstream' | '3.5' | '3.6' | '3.7';
export const GATEWAY_VERSIONS: readonly GatewayVersion[] = ['3.4-upstream', '3.5', '3.6', '3.7'];

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

// --- rules -------------------------------------------------------------------------------------

/** Which family of grpc-gateway shapes a version answers with. */
function family(version: GatewayVersion): 'v1-empty' | 'v1' | 'v2' {
  if (version === '3.4-upstream') return 'v1-empty';
  return version === '3.5' ? 'v1' : 'v2';
}

/**
 * gRPC code to HTTP status.
 * grpc-gateway v1.16.0 (etcd release-3.5 go.mod), runtime/errors.go HTTPStatusFromCode:
 *   Canceled 408, FailedPrecondition 400 ("deliberately doesn't translate to 412").
 * grpc-gateway v2.26.3 (etcd release-3.6) / v2.29.0 (release-3.7), runtime/errors.go
 *   HTTPStatusFromCode: Canceled 499, FailedPrecondition 400.
 * Debian's 3.4.23 build answers 412 for FailedPrecondition (an older bundled gateway).
 */
export function statusOfCode(code: number, version: GatewayVersion): number {
  const v2 = family(version) === 'v2';
  const table: Record<number, number> = {
    0: 200, 1: v2 ? 499 : 408, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429,
    9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
  };
  return table[code] ?? 500;
}

/**
 * A unary error body.
 * v1.16.0 runtime/errors.go DefaultHTTPError: `internal.Error{Error, Code, Message, Details}`
 *   marshaled with etcd's `JSONPb{OrigName: true}` (release-3.5 server/embed/serve.go): empty
 *   details omitted, field order error, code, message.
 * v2 runtime/errors.go DefaultHTTPErrorHandler: the `google.rpc.Status` proto (code, message,
 *   details) through protojson, `EmitUnpopulated: false` in release-3.6 server/embed/serve.go.
 * Upstream 3.4.23 (not Debian's build) panics in the error handler: empty body (fixed in 3.4.24).
 */
function unaryErrorBody(code: number, message: string, version: GatewayVersion): string {
  switch (family(version)) {
    case 'v1-empty':
      return '';
    case 'v1':
      return JSON.stringify({ error: message, code, message });
    case 'v2':
      return spaced(JSON.stringify({ code, message }));
  }
}

/**
 * A stream's error line.
 * v1.16.0 runtime/handler.go handleForwardResponseStreamError: `{"error":{grpc_code, http_code,
 *   message, http_status}}`, no delimiter after it.
 * v2 runtime/handler.go handleForwardResponseStreamError: `{"error": Status}` then the delimiter;
 *   when no message was written yet, the HTTP status follows the code.
 */
function streamErrorLine(code: number, message: string, version: GatewayVersion): string {
  if (family(version) === 'v2') return `${JSON.stringify({ error: { code, message } })}\n`;
  const http = statusOfCode(code, version);
  return JSON.stringify({ error: { grpc_code: code, http_code: http, message, http_status: STATUS_TEXT[http] ?? 'Error' } });
}

/**
 * protojson (google.golang.org/protobuf internal/encoding/json/encode.go prepareNext) adds a
 * space after every comma in single-line output when `detrand.Bool()` says so: fixed per binary.
 * The imitation always does, so the client is proven never to compare answer text.
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
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout',
  409: 'Conflict', 412: 'Precondition Failed', 429: 'Too Many Requests', 499: 'Client Closed Request',
  500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

const USER_EMPTY = 'etcdserver: user name is empty';
const INVALID_TOKEN = 'etcdserver: invalid auth token';
const DENIED = 'etcdserver: permission denied';

type Requirement = 'user' | 'admin' | 'keep-alive';

/**
 * Calls that need a token while auth is on since the CVE-2026-33413 fix, in its latest form
 * (3.4.43 / 3.5.32 / 3.6.12 and later): etcd release-3.6 server/etcdserver/v3_server.go.
 */
const REQUIREMENTS: Record<string, Requirement> = {
  '/v3/lease/grant': 'user',
  '/v3/lease/revoke': 'user',
  '/v3/lease/timetolive': 'user',
  '/v3/lease/leases': 'user',
  '/v3/lease/keepalive': 'keep-alive',
  '/v3/cluster/member/list': 'user',
  '/v3/maintenance/status': 'user',
  '/v3/maintenance/alarm': 'user',
  '/v3/kv/compaction': 'admin',
};

// --- the proxy ---------------------------------------------------------------------------------

export async function startVersionGateway(options: VersionGatewayOptions): Promise<VersionGateway> {
  const upstream = new URL(options.upstream);
  const { version } = options;
  const agent = new Agent({ keepAlive: true });

  /** One unary call to the real etcd (the imitation's own probes), with the caller's token. */
  const probe = async (path: string, body: object, token?: string): Promise<{ status: number; json: Record<string, unknown> }> => {
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

  const authEnabled = async () => (await probe('/v3/auth/user/list', {})).status !== 200;
  // Any answer but 401 to a read means etcd knows the token (403: known, lacking permission).
  const tokenValid = async (token: string) => (await probe('/v3/kv/range', { key: 'AA==', count_only: true }, token)).status !== 401;
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

  /** Undefined when the call may go on; otherwise the gRPC error etcd would answer. */
  const refusal = async (requirement: Requirement, token: string | undefined, body: string): Promise<{ code: number; message: string } | undefined> => {
    if (!(await authEnabled())) return undefined;
    if (token === undefined || token === '') return { code: 3, message: USER_EMPTY };
    if (!(await tokenValid(token))) return { code: 16, message: INVALID_TOKEN };
    if (requirement === 'user' || (await isAdmin(token))) return undefined;
    if (requirement === 'admin') return { code: 7, message: DENIED };
    // keep-alive: put permission on every key of every lease asked for
    for (const line of body.split('\n')) {
      if (line.trim() === '') continue;
      const id = (JSON.parse(line) as { ID?: unknown }).ID;
      const ttl = await probe('/v3/lease/timetolive', { ID: id, keys: true });
      for (const key of (ttl.json.keys as string[] | undefined) ?? []) {
        if (!(await mayPut(token, key))) return { code: 7, message: DENIED };
      }
    }
    return undefined;
  };

  const authStatus = async (token: string | undefined, response: ServerResponse, cors: Record<string, string>) => {
    // etcd release-3.5 server/etcdserver/v3_server.go AuthStatus; admin only while auth is on.
    const header = (await probe('/v3/kv/range', { key: 'AA==', count_only: true })).json.header;
    if (await authEnabled()) {
      const denied = await refusal('admin', token, '');
      if (denied) return sendUnaryError(response, denied.code, denied.message, cors);
      const { json } = await probe('/v3/kv/range', { key: 'AA==', count_only: true }, token);
      return sendJson(response, 200, { header: json.header, enabled: true, authRevision: '1' }, cors);
    }
    return sendJson(response, 200, { header, authRevision: '1' }, cors);
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

  const sendStreamError = (response: ServerResponse, code: number, message: string, cors: Record<string, string>) => {
    // v1 writes 200 and its headers before the first message; v2 waits for it (see streamErrorLine).
    const status = family(version) === 'v2' ? statusOfCode(code, version) : 200;
    response.writeHead(status, { 'content-type': 'application/json', ...cors }).end(streamErrorLine(code, message, version));
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
    if (incoming.method === 'POST' && version !== '3.4-upstream') {
      if (path === '/v3/auth/status') return authStatus(token, response, cors);
      const requirement = REQUIREMENTS[path];
      const denied = requirement === undefined ? undefined : await refusal(requirement, token, body);
      if (denied) {
        if (STREAM_PATHS.has(path)) return sendStreamError(response, denied.code, denied.message, cors);
        return sendUnaryError(response, denied.code, denied.message, cors);
      }
    }
    const upstreamResponse = await forward(incoming, body);
    if (STREAM_PATHS.has(path) && upstreamResponse.statusCode === 200) return relayStream(upstreamResponse, response);
    const text = await readAll(upstreamResponse);
    const status = upstreamResponse.statusCode ?? 502;
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
    return sendUnaryError(response, parsed.code, parsed.message, cors);
  };

  const forward = (incoming: IncomingMessage, body: string) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const headers = { ...incoming.headers, host: upstream.host };
      delete headers['content-length'];
      const outgoing = httpRequest(
        { agent, host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
        resolve,
      );
      outgoing.on('error', reject);
      // A caller that goes away (a watch closed) ends the upstream stream too.
      incoming.socket.once('close', () => outgoing.destroy());
      outgoing.end(body);
    });

  /** Copies a stream line by line, rewriting etcd 3.4's error line into the version's shape. */
  const relayStream = async (upstreamResponse: IncomingMessage, response: ServerResponse) => {
    const headers = { ...upstreamResponse.headers };
    delete headers['content-length'];
    let started = false;
    let tail = '';
    const emit = (line: string, last: boolean) => {
      const error = streamErrorOf(line);
      if (error !== undefined) {
        if (!started) return sendStreamErrorWithHeaders(response, error, headers);
        response.end(streamErrorLine(error.code, error.message, version));
        return;
      }
      if (!started) {
        response.writeHead(200, headers);
        started = true;
      }
      response.write(last ? line : `${line}\n`);
    };
    const sendStreamErrorWithHeaders = (res: ServerResponse, error: { code: number; message: string }, h: typeof headers) => {
      started = true;
      const status = family(version) === 'v2' ? statusOfCode(error.code, version) : 200;
      res.writeHead(status, h).end(streamErrorLine(error.code, error.message, version));
    };
    for await (const chunk of upstreamResponse) {
      tail += String(chunk);
      let newline: number;
      while ((newline = tail.indexOf('\n')) !== -1) {
        emit(tail.slice(0, newline), false);
        tail = tail.slice(newline + 1);
        if (response.writableEnded) return upstreamResponse.destroy();
      }
    }
    if (tail !== '') emit(tail, true);
    if (!started) response.writeHead(200, headers);
    if (!response.writableEnded) response.end();
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

function readAll(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
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
