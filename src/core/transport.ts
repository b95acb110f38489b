import ky, { type Hooks, isHTTPError, isNetworkError, isTimeoutError, type KyInstance, type Options } from 'ky';
import { errorFromAnswer, errorFromResponse, mapFetchError, parseAnswer } from './answer.ts';
import { type AuthOptions, type TokenSource, tokenSourceFor } from './auth-token.ts';
import { readBoundedText } from './bounded-body.ts';
import type { CallOptions, FetchLike, WireObject } from './call-options.ts';
import { checkToken } from './check-options.ts';
import { describeConnectFailure } from './connect-failure.ts';
import { Deadline, untilAborted } from './deadline.ts';
import {
  type DiscoveryOptions,
  EndpointDiscovery,
  EndpointPool,
  type EndpointPoolOptions,
  parseEndpoint,
} from './endpoints.ts';
import {
  AbortedError,
  EtcdError,
  FailedPreconditionError,
  InvalidArgumentError,
  MalformedResponseError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
} from './errors.ts';
import { BODY_TEXT, nativeFetch } from './native-fetch.ts';
import { backoff, MAX_TIMER_MS } from './timers.ts';

/**
 * What a `Transport` is made from (`createCore` fills it from the client options).
 *
 * @example
 * ```ts
 * const core = createCore({ endpoints: ['http://127.0.0.1:2379'], timeout: 5_000 }); // makes its Transport from these
 * ```
 */
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
  /** Every unary call requires the member to have a leader (`CallOptions.requireLeader`). */
  requireLeader?: boolean;
  /** A unary call fails at once when every endpoint refused the connection (`ClientOptions.failFast`). */
  failFast?: boolean;
}

/**
 * Options of one raw gateway call (`transport.request`): whether it may be retried, anonymous, or pinned to one endpoint.
 *
 * @example
 * ```ts
 * await etcd.transport.request('/maintenance/status', {}, { idempotent: true, endpoint: 'http://10.0.0.2:2379' });
 * ```
 */
export interface RequestOptions extends CallOptions {
  /** A call that may be sent again without changing its meaning (reads). */
  idempotent?: boolean;
  /** Send no token (authentication itself). */
  anonymous?: boolean;
  /** Send to this endpoint only, once (a probe of one member): no other endpoint, no retry. */
  endpoint?: string;
}

/**
 * Options of a streaming call (`transport.openStream`): its signal and how long to wait for the answer to start.
 *
 * @example
 * ```ts
 * const { response } = await etcd.transport.openStream('/watch', JSON.stringify(body), { signal, connectTimeout: 5_000 });
 * ```
 */
export interface StreamRequestOptions {
  signal?: AbortSignal;
  /** Deadline for the response headers only; the body is not bounded. */
  connectTimeout?: number;
  /** Send no token. */
  anonymous?: boolean;
  /** Require the member to have a leader (default: the client's `requireLeader`, except for a snapshot). */
  requireLeader?: boolean;
  /** Open it on this endpoint only (one member), whatever the client's current endpoint. */
  endpoint?: string;
}

/** What the hooks of one call share, passed to ky as `context.call`. */
interface CallState {
  /** The gateway path, such as `/v3/kv/range` (also each error's `path`). */
  readonly path: string;
  /** The request body, for the same request to another endpoint. */
  readonly body: string;
  readonly anonymous: boolean;
  /** Only `endpoint` may be used (`RequestOptions.endpoint`). */
  readonly pinned?: boolean;
  /** The endpoint of the attempt in flight. */
  endpoint: string;
  /** The token sent (undefined: none), for `tokenSource.invalidate`. */
  token: string | undefined;
  /** Why the previous attempt failed, when one did. */
  lastError: EtcdError | undefined;
  /** Sends `Grpc-Metadata-hasleader: true`. */
  readonly requireLeader?: boolean;
  /** An attempt was refused for want of a leader. */
  noLeader?: UnavailableError;
  /** Attempts that failed so far, and the endpoints they went to (for the message of a call that runs out of time). */
  failures: number;
  tried?: Set<string>;
  /** Endpoints that refused the connection during this call (`failFast`). */
  refusedAt?: Set<string>;
  /** What the last failed attempt hit, e.g. "connection refused (ECONNREFUSED) at http://...". */
  lastHit?: string;
}

const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** An idempotent attempt may take this share of the call's deadline before the next endpoint is tried. */
const ATTEMPT_SHARE = 3;
const MIN_ATTEMPT_MS = 1_000;
/**
 * grpc-gateway forwards `Grpc-Metadata-<name>` headers as gRPC metadata `<name>`; etcd's
 * interceptors refuse a call carrying `hasleader: true` while the member has no leader.
 */
const HAS_LEADER_HEADER = 'grpc-metadata-hasleader';
const NO_LEADER = 'etcdserver: no leader';
const LEARNER_REFUSAL = /rpc not supported for learner/;
/** A backup is most needed when the quorum is lost: it never requires a leader unless asked. */
const SNAPSHOT = '/maintenance/snapshot';

/**
 * The one place that talks HTTP, through one ky instance per client: ky sends, times out each
 * attempt (`timeout`) and the whole call (`totalTimeout`), retries idempotent calls that failed
 * for the network or an unavailable member (`retry`, jittered), and its hooks set the token
 * (`beforeRequest`) and move a retry to the next endpoint (`beforeRetry`). What is etcd's stays
 * here: endpoint health, which calls are idempotent, the token's life, and typed errors.
 *
 * @example
 * ```ts
 * const answer = await etcd.transport.request('/kv/range', { key: btoa('k') }, { idempotent: true });
 * console.log(etcd.transport.endpoints);
 * ```
 */
export class Transport {
  readonly timeout: number;
  readonly tokenSource: TokenSource | undefined;
  private readonly closed: AbortSignal | undefined;
  private readonly pool: EndpointPool;
  private readonly discovery: EndpointDiscovery | undefined;
  /** Longest answer accepted, in bytes (a watch stream line included). */
  readonly maxResponseBytes: number;
  private readonly requireLeader: boolean;
  private readonly failFast: boolean;
  /** Idempotent calls: retried on another endpoint. */
  private readonly reads: KyInstance;
  /** Writes: sent once, since one that may have been applied is never sent again. */
  private readonly writes: KyInstance;
  /** The same without the token hook, for calls that send no token: ky then runs no hook per call. */
  private readonly anonymousReads: KyInstance;
  private readonly anonymousWrites: KyInstance;
  /** Calls pass their body text to `nativeFetch` (not to a `fetch` of the caller's). */
  private readonly bodyAsText: boolean;
  /** Streams: sent once, their answers handed over unread. */
  private readonly streams: KyInstance;

  constructor(options: TransportOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw new InvalidArgumentError('at least one endpoint is needed, such as "http://127.0.0.1:2379"');
    }
    const seeds = options.endpoints.map((endpoint) => parseEndpoint(endpoint));
    this.pool = new EndpointPool(seeds, options.circuitBreaker);
    // With the client's token: etcd with the CVE-2026-33413 fix refuses an anonymous member list.
    this.discovery = options.discover
      ? new EndpointDiscovery(
          this.pool,
          seeds,
          () => this.request('/cluster/member/list', {}, { idempotent: true }),
          options.discover === true ? {} : options.discover,
        )
      : undefined;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.requireLeader = options.requireLeader === true;
    this.failFast = options.failFast === true;
    this.closed = options.closed;
    this.tokenSource = tokenSourceFor(options.auth, (path, body, callOptions) => this.request(path, body, callOptions));
    this.bodyAsText = options.fetch === undefined;
    const fetch = options.fetch ?? nativeFetch;
    // A string body goes as text/plain, which a browser sends without a CORS preflight; the gateway
    // reads JSON whatever the content type says. Redirects are never followed: an `Authorization`
    // header must not reach another origin.
    this.anonymousWrites = ky.create({
      method: 'post',
      retry: 0,
      timeout: false,
      redirect: 'manual',
      // 5xx answers become ky's HTTPError, which ky may retry; the rest are read here.
      throwHttpErrors: (status) => status >= 500,
      fetch: fetch as typeof globalThis.fetch,
    });
    this.anonymousReads = this.anonymousWrites.extend({
      retry: {
        limit: 100,
        methods: ['post'],
        statusCodes: [502, 503, 504],
        afterStatusCodes: [],
        retryOnTimeout: true,
        // Each endpoint once, then rounds of exponential backoff (full jitter, at most 1 s).
        delay: (attempt) => {
          const endpoints = this.pool.endpoints.length;
          return attempt < endpoints ? 0 : backoff(Math.ceil((attempt - endpoints + 1) / endpoints));
        },
        // fetch rejects with a TypeError when the network fails, whatever its message says in
        // each runtime (ky knows only some of them); beforeRetry stops what no retry can mend.
        shouldRetry: ({ error }) => (error instanceof TypeError ? true : undefined),
      },
      hooks: { beforeRetry: [this.nextEndpoint] },
    });
    const authorized = { hooks: { beforeRequest: [this.authorize] } };
    this.writes = this.anonymousWrites.extend(authorized);
    this.reads = this.anonymousReads.extend(authorized);
    this.streams = this.writes.extend({ throwHttpErrors: false });
  }

  /** The endpoints in use (the given ones, plus discovered ones with `discover`). */
  get endpoints(): readonly string[] {
    return this.pool.endpoints;
  }

  /** Sends one unary call, `route` being the part after `/v3`, e.g. `/kv/range`. */
  async request(route: string, body: object, options: RequestOptions = {}): Promise<WireObject> {
    const path = `/v3${route}`;
    this.throwIfClosed(path);
    const deadline = new Deadline(options.timeout ?? this.timeout, options.signal);
    this.discovery?.refresh();
    const text = JSON.stringify(body);
    let call: CallState | undefined;
    let renewedToken = false;
    let learnerRefusals = 0;
    try {
      for (;;) {
        const pinned = options.endpoint !== undefined;
        const requireLeader = options.requireLeader ?? this.requireLeader;
        call = newCall(
          path,
          text,
          options.anonymous === true,
          pinned ? parseEndpoint(options.endpoint, 'the endpoint option') : this.pool.pick(),
          pinned,
          requireLeader,
        );
        try {
          const answer = await this.send(call, options.idempotent === true && !pinned, deadline);
          this.pool.succeeded(call.endpoint);
          return answer;
        } catch (error) {
          // A token etcd no longer knows is renewed once; nothing was applied.
          if (
            error instanceof UnauthenticatedError &&
            !call.anonymous &&
            !renewedToken &&
            this.tokenSource?.invalidate(call.token)
          ) {
            renewedToken = true;
            continue;
          }
          // A learner refuses before doing anything (3.4/3.5: 503 code 14; 3.6+: 400 code 9): the
          // call, write or not, goes to the next endpoint, as Go's client does with several.
          if (
            !pinned &&
            !deadline.timedOut &&
            (error instanceof FailedPreconditionError || error instanceof UnavailableError) &&
            LEARNER_REFUSAL.test(error.message) &&
            ++learnerRefusals < this.pool.endpoints.length
          ) {
            this.failedOver(call.endpoint);
            continue;
          }
          if (error instanceof UnavailableError || deadline.timedOut) this.failedOver(call.endpoint);
          else if (error instanceof EtcdError && error.status !== undefined) this.pool.succeeded(call.endpoint);
          throw error;
        }
      }
    } catch (error) {
      throw deadline.timedOut && call !== undefined && !deadline.callerSignal?.aborted
        ? timedOut(call, deadline.ms, error)
        : deadline.explain(error, path);
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
    route: string,
    body: string,
    options: StreamRequestOptions = {},
  ): Promise<{ response: Response; endpoint: string; token: string | undefined }> {
    const path = `/v3${route}`;
    this.throwIfClosed(path);
    const pinnedTo =
      options.endpoint === undefined ? undefined : parseEndpoint(options.endpoint, 'the endpoint option');
    const connect = new Deadline(options.connectTimeout ?? this.timeout, options.signal);
    // The stream must outlive the connect deadline, so it gets the caller's signal alone.
    const controller = new AbortController();
    const abort = () => controller.abort(connect.signal.reason);
    connect.signal.addEventListener('abort', abort, { once: true });
    const requireLeader = options.requireLeader ?? (this.requireLeader && route !== SNAPSHOT);
    const pinned = pinnedTo !== undefined;
    const call = newCall(path, body, options.anonymous === true, pinnedTo ?? this.pool.pick(), pinned, requireLeader);
    try {
      connect.signal.throwIfAborted();
      for (let renewedToken = false; ; renewedToken = true) {
        const response = await untilAborted(
          this.streams(this.urlOf(call), { body, signal: controller.signal, context: { call } }),
          connect.signal,
        );
        if (!response.ok) {
          const error = await errorFromResponse(response, call.endpoint, path);
          // Since 3.6 a refused stream answers with the error's HTTP status, 401 for a stale token.
          if (
            error instanceof UnauthenticatedError &&
            !call.anonymous &&
            !renewedToken &&
            this.tokenSource?.invalidate(call.token)
          )
            continue;
          throw error;
        }
        if (!response.body)
          throw new MalformedResponseError('stream answer has no body', { endpoint: call.endpoint, path });
        connect.signal.removeEventListener('abort', abort);
        options.signal?.addEventListener('abort', () => controller.abort(options.signal!.reason), { once: true });
        this.pool.succeeded(call.endpoint);
        return { response, endpoint: call.endpoint, token: call.token };
      }
    } catch (error) {
      const mapped = this.typed(error, call);
      // A learner's refusal (400 code 9 from 3.6 on) moves on too: the stream's next attempt goes elsewhere.
      const learner = mapped instanceof FailedPreconditionError && LEARNER_REFUSAL.test(mapped.message);
      if ((mapped instanceof UnavailableError || learner) && mapped.endpoint === call.endpoint)
        this.failedOver(call.endpoint);
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

  /**
   * One attempt through ky (with its retries, for idempotent calls), read and parsed. ky gets the
   * caller's signal only when there is one, and the deadline as its `totalTimeout` (which aborts
   * the fetch in flight); the deadline's own race covers a fetch that ignores its signal and the
   * reading of the body.
   */
  private async send(call: CallState, idempotent: boolean, deadline: Deadline): Promise<WireObject> {
    deadline.throwIfAborted();
    const totalMs = Math.min(deadline.remaining(), MAX_TIMER_MS);
    // A call with neither a token nor the leader header runs no hook.
    const anonymous = (call.anonymous || this.tokenSource === undefined) && !call.requireLeader;
    let response: Response;
    try {
      // Only what differs per call: ky merges these into its defaults on every call.
      // For the runtime's fetch, ky's Request carries no body (no stream to make, clone for a
      // retry and cancel): the text goes beside it, to nativeFetch.
      const options: Options = this.bodyAsText
        ? ({ [BODY_TEXT]: call.body, totalTimeout: totalMs } as Options)
        : { body: call.body, totalTimeout: totalMs };
      if (deadline.callerSignal !== undefined) options.signal = deadline.callerSignal;
      let http = anonymous ? this.anonymousWrites : this.writes;
      if (idempotent) {
        http = anonymous ? this.anonymousReads : this.reads;
        options.timeout = Math.max(MIN_ATTEMPT_MS, Math.round(totalMs / ATTEMPT_SHARE));
      }
      // The hooks' shared state; a call that runs no hook needs none.
      if (http !== this.anonymousWrites) options.context = { call };
      const sent = http(this.urlOf(call), options);
      response = await deadline.race(sent);
    } catch (error) {
      throw this.typed(error, call);
    }
    const { endpoint, path } = call;
    // A fetch that ignores the signal while the body streams must not hang the call either.
    if (!response.ok) throw await deadline.race(errorFromResponse(response, endpoint, path), response);
    let text: string;
    try {
      text = await deadline.race(readBoundedText(response, this.maxResponseBytes), response);
    } catch (error) {
      if (error instanceof MalformedResponseError) throw Object.assign(error, { endpoint, path });
      throw mapFetchError(error, endpoint, path, 'the answer broke off');
    }
    return parseAnswer(text, endpoint, path);
  }

  /**
   * The typed error for what ky threw. ky's own errors hold the `Request`, and so the token:
   * none of them is kept, only what they say.
   */
  private typed(error: unknown, call: CallState): unknown {
    const { endpoint, path } = call;
    if (isHTTPError(error)) {
      const data = error.data;
      return errorFromAnswer(
        error.response.status,
        typeof data === 'string' ? data : data === undefined ? '' : JSON.stringify(data),
        endpoint,
        path,
      );
    }
    if (isNetworkError(error)) return mapFetchError(error.cause, endpoint, path);
    if (isTimeoutError(error)) {
      // The call's deadline ran out between attempts: say why the last one failed, when one did.
      return call.lastError ?? new TimeoutError(`${path} got no answer from ${endpoint} in time`, { endpoint, path });
    }
    return mapFetchError(error, endpoint, path);
  }

  private urlOf(call: CallState): string {
    return `${call.endpoint}${call.path}`;
  }

  /**
   * `request` sent to the call's endpoint now. Built from the body text: a browser cannot make a
   * `Request` from another whose body is a stream.
   */
  private moved(call: CallState, request: Request): Request {
    const body = this.bodyAsText ? undefined : call.body;
    return new Request(this.urlOf(call), {
      method: 'POST',
      headers: request.headers,
      body,
      signal: request.signal,
      redirect: 'manual',
    });
  }

  /** ky's `beforeRequest`: the token (authenticating first when needed), then the endpoint. */
  private readonly authorize: NonNullable<Hooks['beforeRequest']>[number] = async ({ request, options }) => {
    const call = (options.context as { call: CallState }).call;
    const tokens = call.anonymous ? undefined : this.tokenSource;
    // A shared authentication ignores any one caller's signal: the wait for it must not.
    const signal = options.signal ?? undefined;
    const token =
      tokens === undefined
        ? undefined
        : await (signal ? untilAborted(tokens.token({ signal }), signal) : tokens.token({}));
    call.token = token;
    // Picked after authenticating, which may have learned that an endpoint is down.
    const endpoint = call.pinned ? call.endpoint : this.pool.pick();
    if (token !== undefined) {
      checkToken(token);
      request.headers.set('authorization', token);
    }
    if (call.requireLeader) request.headers.set(HAS_LEADER_HEADER, 'true');
    if (endpoint === call.endpoint) return undefined;
    call.endpoint = endpoint;
    return this.moved(call, request);
  };

  /** ky's `beforeRetry`: the failed endpoint is marked, the retry goes to the next one. */
  private readonly nextEndpoint: NonNullable<Hooks['beforeRetry']>[number] = ({
    request,
    options,
    error,
    retryCount,
  }) => {
    const call = (options.context as { call: CallState }).call;
    const typed = this.typed(error, call);
    call.failures++;
    (call.tried ??= new Set()).add(call.endpoint);
    const failure = describeConnectFailure(error, call.endpoint);
    if (failure?.refused === true) (call.refusedAt ??= new Set()).add(call.endpoint);
    const refusedAt = call.refusedAt;
    call.lastHit = failure === undefined ? (typed as Error)?.message : `${failure.reason} at ${call.endpoint}`;
    // failFast: nothing listens at any endpoint (each refused the connection during this call).
    if (this.failFast && refusedAt !== undefined && this.pool.endpoints.every((endpoint) => refusedAt.has(endpoint))) {
      throw new UnavailableError(
        `${call.path} could not connect to any endpoint (${[...refusedAt].join(', ')}), the last: ${call.lastHit} (failFast: not retried until the deadline)`,
        {
          endpoint: call.endpoint,
          path: call.path,
          mayHaveApplied: false,
          retryable: false,
        },
      );
    }
    // A TLS failure (an untrusted certificate, a refused client certificate): no retry can mend it.
    if (typed instanceof UnavailableError && !typed.retryable) throw typed;
    // With requireLeader, once every endpoint was tried and a member said it has no leader, fail
    // now: waiting out the deadline is what the caller asked not to do.
    if (call.requireLeader && typed instanceof UnavailableError && typed.message === NO_LEADER) call.noLeader = typed;
    if (call.noLeader !== undefined && retryCount >= this.pool.endpoints.length) throw call.noLeader;
    if (typed instanceof EtcdError) call.lastError = typed;
    this.failedOver(call.endpoint);
    const endpoint = this.pool.pick();
    if (endpoint === call.endpoint) return undefined;
    call.endpoint = endpoint;
    return this.moved(call, request);
  };

  private throwIfClosed(path: string): void {
    if (this.closed?.aborted) throw new AbortedError(`${path} was not sent: the client is closed`, { path });
  }
}

function newCall(
  path: string,
  body: string,
  anonymous: boolean,
  endpoint: string,
  pinned: boolean,
  requireLeader: boolean,
): CallState {
  return {
    path,
    body,
    anonymous,
    pinned,
    endpoint,
    token: undefined,
    lastError: undefined,
    requireLeader,
    failures: 0,
  };
}

/**
 * The error of a call whose deadline passed: which endpoints its failed attempts went to and
 * what the last one hit, or which endpoint it was waiting on. Never an error without an endpoint.
 */
function timedOut(call: CallState, ms: number, error: unknown): TimeoutError {
  const { path, endpoint } = call;
  const last = call.lastError ?? (error instanceof UnavailableError ? error : undefined);
  if (call.failures === 0 || last === undefined) {
    return new TimeoutError(`${path} did not finish within ${ms} ms: no answer from ${endpoint}`, {
      endpoint,
      path,
      cause: last,
    });
  }
  const tried = [...(call.tried ?? [])].join(', ');
  const attempts = call.failures === 1 ? '1 attempt' : `${call.failures} attempts`;
  return new TimeoutError(
    `${path} did not finish within ${ms} ms: ${attempts} at ${tried} failed, the last: ${call.lastHit ?? last.message}`,
    {
      endpoint: last.endpoint ?? endpoint,
      path,
      cause: last,
    },
  );
}
