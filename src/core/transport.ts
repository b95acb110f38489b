import type { KyInstance } from 'ky';
export type { CallOptions, FetchLike, WireObject } from './call-options.ts';
export type { TokenSource } from './auth-token.ts';
import { readBoundedText } from './bounded-body.ts';
import { asRecord, describe } from './codec.ts';
import { type AuthOptions, type TokenSource, tokenSourceFor } from './auth-token.ts';
import type { CallOptions, FetchLike, WireObject } from './call-options.ts';
import { describeConnectFailure } from './connect-failure.ts';
import { backoff, EndpointDiscovery, type DiscoveryOptions, EndpointPool, type EndpointPoolOptions } from './endpoints.ts';
import {
  AbortedError,
  EtcdError,
  InvalidArgumentError,
  MalformedResponseError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  codeOfHttpStatus,
  errorFromStatus,
  GrpcCode,
} from './errors.ts';

export interface TransportOptions {
  /** Client URLs such as `http://127.0.0.1:2379`. */
  endpoints: readonly string[];
  /** Credentials, or a token source of your own. */
  auth?: AuthOptions | TokenSource;
  /** Aborts when the client closes: every later call is refused. */
  closed?: AbortSignal;
  /** Default deadline of each call in milliseconds (10 s). */
  timeout?: number;
  fetch?: FetchLike;
  /** Also use the client URLs of every member in the cluster's member list (default false). */
  discover?: boolean | DiscoveryOptions;
  /** When an endpoint that keeps failing is skipped, and for how long. */
  circuitBreaker?: EndpointPoolOptions;
  /** Longest answer accepted, in bytes (default 64 MiB); a longer one is a MalformedResponseError. */
  maxResponseBytes?: number;
}

export interface RequestOptions extends CallOptions {
  /** A call that may be sent again without changing its meaning (reads). */
  idempotent?: boolean;
  /** Send no token (authentication itself). */
  anonymous?: boolean;
}

export interface StreamRequestOptions {
  signal?: AbortSignal;
  /** Deadline for the response headers only; the body is not bounded. */
  connectTimeout?: number;
  /** Send no token. */
  anonymous?: boolean;
}


const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;

/**
 * The one place that talks HTTP: endpoints, the gateway prefix, deadlines, cancellation,
 * the `Authorization` header, failover of idempotent calls and error mapping.
 */
export class Transport {
  readonly timeout: number;
  readonly tokenSource: TokenSource | undefined;
  private readonly closed: AbortSignal | undefined;
  private readonly fetch: FetchLike;
  private http: Promise<KyInstance> | undefined;
  // --- endpoint selection (src/endpoints.ts) ---
  private readonly pool: EndpointPool;
  private readonly discovery: EndpointDiscovery | undefined;
  private readonly maxResponseBytes: number;
  // --- end of endpoint selection ---

  constructor(options: TransportOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw new EtcdError('at least one endpoint is needed, such as "http://127.0.0.1:2379"');
    }
    const seeds = options.endpoints.map(normalizeEndpoint);
    this.pool = new EndpointPool(seeds, options.circuitBreaker);
    // With the client's token: etcd with the CVE-2026-33413 fix refuses an anonymous member list.
    this.discovery = options.discover
      ? new EndpointDiscovery(this.pool, seeds, () => this.request('/cluster/member/list', {}, { idempotent: true }), options.discover === true ? {} : options.discover)
      : undefined;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.closed = options.closed;
    this.tokenSource = tokenSourceFor(options.auth, (path, body, callOptions) => this.request(path, body, callOptions));
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The endpoints in use (the given ones, plus discovered ones with `discover`). */
  get endpoints(): readonly string[] {
    return this.pool.endpoints;
  }

  /** Sends one unary call, `path` being the part after `/v3`, e.g. `/kv/range`. */
  async request(path: string, body: object, options: RequestOptions = {}): Promise<WireObject> {
    this.throwIfClosed(path);
    const deadline = new Deadline(options.timeout ?? this.timeout, options.signal);
    this.discovery?.refresh();
    try {
      let retriedToken = false;
      // --- failover: each endpoint once, then rounds of jittered backoff within the deadline ---
      const tried = new Set<string>();
      const text = JSON.stringify(body);
      for (let round = 0; ; ) {
        const tokens = options.anonymous ? undefined : this.tokenSource;
        // A shared authentication ignores any one caller's signal: the wait for it must not.
        const token = tokens === undefined ? undefined : await untilAborted(tokens.token({ signal: deadline.signal }), deadline.signal);
        // Picked after authenticating, which may have learned that an endpoint is down.
        const endpoint = this.pool.pick();
        tried.add(endpoint);
        try {
          const answer = await this.send(endpoint, path, text, token, deadline);
          this.pool.succeeded(endpoint);
          return answer;
        } catch (error) {
          if (error instanceof UnauthenticatedError && !options.anonymous && !retriedToken && this.tokenSource?.invalidate(token)) {
            retriedToken = true;
            continue;
          }
          if (!(error instanceof UnavailableError) || !error.retryable || deadline.signal.aborted) {
            if (deadline.timedOut) this.failedOver(endpoint);
            else if (error instanceof EtcdError && error.status !== undefined) this.pool.succeeded(endpoint);
            throw error;
          }
          this.failedOver(endpoint);
          // A write that may have been applied is never sent again: the caller decides.
          if (!options.idempotent) throw error;
          if (tried.has(this.pool.pick())) {
            const pause = backoff(round++);
            if (pause >= deadline.remaining() || !(await deadline.sleep(pause))) throw error;
            tried.clear();
          }
        }
      }
      // --- end of failover ---
    } catch (error) {
      throw deadline.explain(error, path);
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Opens a streaming call (watch, keep-alive, snapshot): the body is NDJSON requests, the
   * answer a long-lived `Response` whose body the caller reads. Only connecting is bounded.
   * `token` is the one sent, for `tokenSource.invalidate` when the stream reports it invalid.
   */
  async openStream(
    path: string,
    body: string,
    options: StreamRequestOptions = {},
  ): Promise<{ response: Response; endpoint: string; token: string | undefined }> {
    this.throwIfClosed(path);
    const connect = new Deadline(options.connectTimeout ?? this.timeout, options.signal);
    let endpoint = this.pool.pick();
    // The stream must outlive the connect deadline, so it gets the caller's signal alone.
    const controller = new AbortController();
    const abort = () => controller.abort(connect.signal.reason);
    connect.signal.addEventListener('abort', abort, { once: true });
    try {
      for (let renewedToken = false; ; renewedToken = true) {
        const tokens = options.anonymous ? undefined : this.tokenSource;
        const token = tokens === undefined ? undefined : await untilAborted(tokens.token({ signal: connect.signal }), connect.signal);
        endpoint = this.pool.pick();
        const response = await this.post(endpoint, path, body, token, controller.signal);
        if (!response.ok) {
          const error = await errorFromResponse(response, endpoint, path);
          // Since 3.6 a refused stream answers with the error's HTTP status, 401 for a stale token.
          if (error instanceof UnauthenticatedError && tokens !== undefined && !renewedToken && tokens.invalidate(token)) continue;
          throw error;
        }
        if (!response.body) throw new MalformedResponseError('stream answer has no body', { endpoint, path });
        connect.signal.removeEventListener('abort', abort);
        options.signal?.addEventListener('abort', () => controller.abort(options.signal!.reason), { once: true });
        this.pool.succeeded(endpoint);
        return { response, endpoint, token };
      }
    } catch (error) {
      const mapped = mapFetchError(error, endpoint, path);
      // (An UnavailableError from authenticating names the endpoint that failed it, already passed over.)
      if (mapped instanceof UnavailableError && mapped.endpoint === endpoint) this.failedOver(endpoint);
      throw connect.explain(mapped, path);
    } finally {
      connect.signal.removeEventListener('abort', abort);
      connect.dispose();
    }
  }

  /** Moves to the next endpoint after `endpoint` failed (unless another call already did). */
  failedOver(endpoint: string): void {
    this.pool.failed(endpoint);
    this.discovery?.refresh(true);
  }

  private throwIfClosed(path: string): void {
    if (this.closed?.aborted) throw new AbortedError(`/v3${path} was not sent: the client is closed`, { path });
  }

  /**
   * POSTs `body` through ky. A string body goes as text/plain, which a browser sends without a
   * CORS preflight; the gateway reads JSON whatever the content type says. Retries, deadlines
   * and HTTP errors are handled by the callers, so ky's are off, and redirects are not followed
   * (an `Authorization` header must never reach another origin).
   */
  private async post(endpoint: string, path: string, body: string, token: string | undefined, signal: AbortSignal): Promise<Response> {
    // ky is imported on first use: its import-time feature checks make Node load its fetch (~70 ms),
    // which an application that imports this package without calling etcd should not pay.
    this.http ??= import('ky').then(({ default: ky }) =>
      ky.create({ method: 'post', timeout: false, retry: 0, throwHttpErrors: false, redirect: 'manual', fetch: this.fetch as typeof fetch }),
    );
    const http = await this.http;
    return http(`${endpoint}/v3${path}`, { body, headers: token === undefined ? undefined : { authorization: token }, signal });
  }

  private async send(endpoint: string, path: string, body: string, token: string | undefined, deadline: Deadline): Promise<WireObject> {
    deadline.signal.throwIfAborted();
    let response: Response;
    try {
      response = await untilAborted(this.post(endpoint, path, body, token, deadline.signal), deadline.signal);
    } catch (error) {
      throw mapFetchError(error, endpoint, path);
    }
    // A fetch that ignores the signal while the body streams must not hang the call either.
    if (!response.ok) throw await untilAborted(errorFromResponse(response, endpoint, path), deadline.signal, response);
    let text: string;
    try {
      text = await untilAborted(readBoundedText(response, this.maxResponseBytes), deadline.signal, response);
    } catch (error) {
      if (error instanceof MalformedResponseError) throw Object.assign(error, { endpoint, path });
      throw mapFetchError(error, endpoint, path, 'the answer broke off');
    }
    return parseAnswer(text, endpoint, path);
  }
}

function parseAnswer(text: string, endpoint: string, path: string): WireObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new MalformedResponseError(`answer of ${path} is not JSON (${text.length} bytes: ${JSON.stringify(text.slice(0, 60))})`, {
      endpoint,
      path,
      cause,
    });
  }
  try {
    return asRecord(parsed, `answer of ${path}`);
  } catch (error) {
    throw Object.assign(error as EtcdError, { endpoint, path });
  }
}

/**
 * Maps a non-2xx gateway answer to a typed error, whatever etcd version wrote it: a unary body
 * `{code, message}` (3.6+) or `{error, code, message}` (3.4, 3.5), a refused stream's
 * `{"error": {code | grpc_code, message}}`, or an empty or non-JSON body (a proxy, a gateway that
 * failed to write one), mapped by HTTP status.
 */
export async function errorFromResponse(response: Response, endpoint: string, path: string): Promise<EtcdError> {
  const status = response.status;
  // Never followed (`redirect: 'manual'`): a redirect would carry the Authorization header along.
  if (response.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
    void response.body?.cancel().catch(() => {});
    return new MalformedResponseError(`${endpoint} answered a redirect (HTTP ${status}), which is not followed: configure the endpoint it points to`, {
      status,
      endpoint,
      path,
    });
  }
  let text = '';
  const details = { status, endpoint, path };
  try {
    text = await readBoundedText(response, MAX_ERROR_BYTES);
  } catch (cause) {
    return new MalformedResponseError(`HTTP ${status} from ${endpoint} for /v3${path}: its error body could not be read (${(cause as Error)?.message ?? String(cause)})`, {
      ...details,
      cause,
    });
  }
  const wire = parseErrorBody(text);
  const call = path === '' ? '' : ` for /v3${path}`;
  // An unknown path or method: 404/405 in text/plain up to 3.5, 404 `{"code":5,"message":"Not Found"}` from 3.6.
  if ((status === 404 && (wire === undefined ? text.trim() !== '' : wire.message === 'Not Found')) || status === 405) {
    return new UnimplementedError(`${endpoint} does not serve /v3${path} (HTTP ${status}): an older etcd, or not an etcd gateway`, {
      ...details,
      code: GrpcCode.UNIMPLEMENTED,
    });
  }
  if (wire !== undefined) return errorFromStatus(wire.code, wire.message ?? `gRPC code ${wire.code}${call}`, details);
  const snippet = text.slice(0, 80).trim();
  const code = codeOfHttpStatus(status);
  return errorFromStatus(code, `HTTP ${status} from ${endpoint}${call}${snippet ? `: ${snippet}` : ' with no error body'}`, details);
}

/** The code and message of an error body, or undefined when it is no gateway error. */
function parseErrorBody(text: string): { code: number; message: string | undefined } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  let error = body as { code?: unknown; grpc_code?: unknown; message?: unknown; error?: unknown };
  if (typeof error.error === 'object' && error.error !== null) error = error.error as typeof error;
  const code = typeof error.code === 'number' ? error.code : typeof error.grpc_code === 'number' ? error.grpc_code : undefined;
  if (code === undefined) return undefined;
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : typeof error.error === 'string' ? error.error : undefined;
  return { code, message };
}

/** Turns what `fetch` threw into a typed error; typed errors pass through. */
export function mapFetchError(error: unknown, endpoint: string, path: string, what = 'could not reach etcd'): unknown {
  if (error instanceof EtcdError) return error;
  if (isAbort(error)) return error;
  const failure = describeConnectFailure(error, endpoint);
  if (failure !== undefined) {
    return new UnavailableError(`${what} at ${endpoint}: ${failure.reason}`, {
      endpoint,
      path,
      cause: error,
      mayHaveApplied: failure.mayHaveApplied,
      retryable: failure.retryable,
    });
  }
  const cause = (error as { cause?: { code?: unknown; cause?: { code?: unknown } } })?.cause;
  const code = cause?.code ?? cause?.cause?.code;
  const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  return new UnavailableError(`${what} at ${endpoint}: ${(error as Error)?.message ?? String(error)}${typeof code === 'string' ? ` (${code})` : ''}`, {
    endpoint,
    path,
    cause: error,
    mayHaveApplied: !refused,
  });
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (cancelling `response`'s body). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, response?: Response): Promise<T> {
  if (signal.aborted) {
    void response?.body?.cancel().catch(() => {});
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      void response?.body?.cancel().catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown })?.name === 'AbortError' || (error as { name?: unknown })?.name === 'TimeoutError';
}

function normalizeEndpoint(endpoint: string): string {
  // A user or password in the URL would show in every error message: refuse it, unrepeated.
  if (typeof endpoint === 'string' && /^([a-z]+:\/\/)?[^/@]*@/i.test(endpoint)) {
    throw new EtcdError('an endpoint must not contain a user or password: pass them as auth: { username, password }');
  }
  if (typeof endpoint !== 'string' || !/^https?:\/\/[^/]+/i.test(endpoint)) {
    throw new EtcdError(`endpoint must be an http(s) URL such as "http://127.0.0.1:2379", got ${JSON.stringify(endpoint)}`);
  }
  return endpoint.replace(/\/+$/, '');
}

/** A call's deadline joined with the caller's signal, and the error that explains which fired. */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly controller = new AbortController();
  private timedOutFlag = false;
  private readonly endsAt: number;
  readonly ms: number;
  private readonly callerSignal: AbortSignal | undefined;

  constructor(ms: number, callerSignal?: AbortSignal) {
    this.ms = ms;
    this.callerSignal = callerSignal;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      throw new InvalidArgumentError(`timeout must be a positive number of milliseconds, got ${describe(ms)}`);
    }
    if (callerSignal !== undefined && !(callerSignal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`signal must be an AbortSignal, got ${describe(callerSignal)}`);
    }
    this.endsAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timedOutFlag = true;
      this.controller.abort(new DOMException('deadline exceeded', 'TimeoutError'));
    }, ms);
    this.signal = callerSignal ? AbortSignal.any([callerSignal, this.controller.signal]) : this.controller.signal;
  }

  /** True once the deadline (not the caller) ended the call. */
  get timedOut(): boolean {
    return this.timedOutFlag;
  }

  /** Milliseconds left before the deadline. */
  remaining(): number {
    return Math.max(0, this.endsAt - Date.now());
  }

  /** Waits `ms`, or less when the call is cancelled; true when the wait was complete. */
  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The typed error for a failure, saying "aborted" or "timed out" when a signal caused it. */
  explain(error: unknown, path: string): unknown {
    if (this.callerSignal?.aborted) {
      return error instanceof AbortedError ? error : new AbortedError(`/v3${path} was aborted`, { path, cause: this.callerSignal.reason });
    }
    if (this.timedOutFlag) {
      return error instanceof TimeoutError ? error : new TimeoutError(`/v3${path} did not finish within ${this.ms} ms`, { path, cause: error });
    }
    if (error instanceof EtcdError) return error;
    if (isAbort(error)) return new AbortedError(`/v3${path} was aborted`, { path, cause: error });
    return error;
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
