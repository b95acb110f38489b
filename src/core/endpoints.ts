import { InvalidArgumentError } from './errors.ts';

/**
 * Tuning of endpoint selection; the defaults suit a 3- to 5-member cluster on a LAN.
 *
 * @example
 * ```ts
 * new Etcd({ endpoints, circuitBreaker: { failureThreshold: 3, cooldown: 10_000 } });
 * ```
 */
export interface EndpointPoolOptions {
  /** Consecutive failures after which an endpoint is skipped (default 2). */
  failureThreshold?: number;
  /** How long a failing endpoint is skipped before it is tried again, in ms (default 5 000). */
  cooldown?: number;
  /** The clock (tests pass a fake one). */
  now?: () => number;
}

interface Health {
  /** Failures since the last success. */
  failures: number;
  /** Skipped until this time (0: not skipped). */
  openUntil: number;
}

const DEFAULT_THRESHOLD = 2;
const DEFAULT_COOLDOWN = 5_000;

/**
 * Which endpoint a call uses: the same one while it works (keep-alive connections, one
 * member's view), the next one when it fails, and not one that keeps failing until its
 * cooldown has passed (a circuit breaker). When every endpoint is cooling down, the one
 * whose cooldown ends first is tried anyway: a call is never refused without an attempt.
 */
export class EndpointPool {
  private list: readonly string[];
  private readonly health = new Map<string, Health>();
  private current = 0;
  private readonly threshold: number;
  private readonly cooldown: number;
  private readonly now: () => number;

  constructor(endpoints: readonly string[], options: EndpointPoolOptions = {}) {
    this.list = [...endpoints];
    this.threshold = options.failureThreshold ?? DEFAULT_THRESHOLD;
    this.cooldown = options.cooldown ?? DEFAULT_COOLDOWN;
    this.now = options.now ?? Date.now;
  }

  get endpoints(): readonly string[] {
    return this.list;
  }

  /** The endpoint for the next attempt. */
  pick(): string {
    const now = this.now();
    let soonest: string | undefined;
    let soonestTime = Infinity;
    for (let i = 0; i < this.list.length; i++) {
      const index = (this.current + i) % this.list.length;
      const endpoint = this.list[index]!;
      const openUntil = this.health.get(endpoint)?.openUntil ?? 0;
      if (openUntil <= now) {
        this.current = index;
        return endpoint;
      }
      if (openUntil < soonestTime) {
        soonestTime = openUntil;
        soonest = endpoint;
      }
    }
    return soonest!;
  }

  /** True while `endpoint` is being skipped. */
  isCoolingDown(endpoint: string): boolean {
    return (this.health.get(endpoint)?.openUntil ?? 0) > this.now();
  }

  succeeded(endpoint: string): void {
    this.health.delete(endpoint);
  }

  /** Records a failure and moves on to the next endpoint (unless another call already did). */
  failed(endpoint: string): void {
    const health = this.health.get(endpoint) ?? { failures: 0, openUntil: 0 };
    health.failures++;
    // Each failure past the threshold (a failed probe after a cooldown) reopens the breaker.
    if (health.failures >= this.threshold) health.openUntil = this.now() + this.cooldown;
    this.health.set(endpoint, health);
    if (this.list[this.current] === endpoint) this.current = (this.current + 1) % this.list.length;
  }

  /** Replaces the endpoint list (discovery), keeping what is known of endpoints that remain. */
  replace(endpoints: readonly string[]): void {
    if (endpoints.length === 0) return;
    const preferred = this.list[this.current];
    this.list = [...new Set(endpoints)];
    for (const endpoint of this.health.keys()) if (!this.list.includes(endpoint)) this.health.delete(endpoint);
    this.current = Math.max(0, preferred === undefined ? 0 : this.list.indexOf(preferred));
  }
}

/**
 * Client URLs of the voting members in a `/cluster/member/list` answer, in member order. Learners
 * are left out, as Go's `Sync` does: a learner refuses every call but status and serializable
 * reads ("rpc not supported for learner").
 */
export function clientUrlsOf(memberList: Record<string, unknown>): string[] {
  const members = Array.isArray(memberList.members) ? memberList.members : [];
  const urls: string[] = [];
  for (const member of members) {
    if ((member as { isLearner?: unknown })?.isLearner === true) continue;
    const list = (member as { clientURLs?: unknown })?.clientURLs;
    if (!Array.isArray(list)) continue;
    for (const url of list) {
      // A URL that is no plain http(s) endpoint (or carries user info) is skipped, never quoted.
      try {
        urls.push(parseEndpoint(url));
      } catch {}
    }
  }
  return urls;
}

const DISCOVERY_INTERVAL = 60_000;
const URGENT_DISCOVERY_INTERVAL = 3_000;

/**
 * What `discover: { ... }` tunes.
 *
 * @example
 * ```ts
 * new Etcd({ endpoints: ['http://10.0.0.1:2379'], discover: { onError: (error) => log.warn(error) } });
 * ```
 */
export interface DiscoveryOptions {
  /**
   * Called when the member list could not be read (etcd unreachable, or a user that may not
   * list members); the pool stays as it was. Default: one `console.warn` per run of failures.
   */
  onError?: (error: unknown) => void;
}

/**
 * Keeps the pool in step with the cluster's member list: the seed endpoints plus every
 * member's client URLs, refreshed at most once a minute, or every few seconds while
 * endpoints fail. Runs in the background; a failed refresh leaves the pool as it was and is
 * reported to `onError`.
 */
export class EndpointDiscovery {
  private readonly pool: EndpointPool;
  private readonly seeds: readonly string[];
  private readonly listMembers: () => Promise<Record<string, unknown>>;
  private readonly now: () => number;
  private readonly onError: (error: unknown) => void;
  private running = false;
  private last = -Infinity;
  private failing = false;

  constructor(
    pool: EndpointPool,
    seeds: readonly string[],
    listMembers: () => Promise<Record<string, unknown>>,
    options: DiscoveryOptions & { now?: () => number } = {},
  ) {
    this.pool = pool;
    this.seeds = seeds;
    this.listMembers = listMembers;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? ((error) => this.warnOnce(error));
  }

  /** Starts a refresh unless one is running or the last one is recent; `urgent` after a failure. */
  refresh(urgent = false): void {
    const now = this.now();
    if (this.running || now - this.last < (urgent ? URGENT_DISCOVERY_INTERVAL : DISCOVERY_INTERVAL)) return;
    this.running = true;
    this.last = now;
    this.listMembers().then(
      (answer) => {
        this.running = false;
        this.failing = false;
        this.pool.replace([...this.seeds, ...clientUrlsOf(answer)]);
      },
      (error: unknown) => {
        this.running = false;
        try {
          this.onError(error);
        } finally {
          this.failing = true;
        }
      },
    );
  }

  private warnOnce(error: unknown): void {
    if (this.failing) return;
    console.warn(
      `etcd-fetch: endpoint discovery could not list the cluster's members: ${(error as Error)?.message ?? String(error)}`,
    );
  }
}

/**
 * Checks one endpoint and returns it without trailing slashes. It is parsed with `URL`, as
 * `fetch` will parse it: any user info the parser reads (`http://u:p@h`, `http:/u:p@h`,
 * `http:\\u:p@h`, ...) is refused, and so are whitespace and control characters (which the
 * parser strips silently, so a check of the text and the parser's reading could differ). No
 * message quotes an endpoint that may hold a secret. `what` names where it came from.
 */
export function parseEndpoint(endpoint: unknown, what = 'an endpoint'): string {
  if (typeof endpoint !== 'string')
    throw new InvalidArgumentError(`${what} must be a string URL, got ${endpoint === null ? 'null' : typeof endpoint}`);
  // A user or password in the URL would show in every error message: refuse it, unrepeated.
  const noCredentials = `${what} must not contain a user or password: pass them as auth: { username, password }`;
  if (/^[\s\u0000-\u001f]|[\s\u0000-\u001f]$/.test(endpoint)) {
    throw new InvalidArgumentError(
      `${what} must not start or end with whitespace or a control character, got ${quoted(endpoint.trim())}`,
    );
  }
  if (/[\s\u0000-\u001f\u007f]/.test(endpoint))
    throw new InvalidArgumentError(
      `${what} must not contain whitespace or control characters, got ${quoted(endpoint)}`,
    );
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidArgumentError(`${what} ${quoted(endpoint)} is not a URL such as "http://127.0.0.1:2379"`);
  }
  if (url.username !== '' || url.password !== '') throw new InvalidArgumentError(noCredentials);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `${what} must be an http(s) URL such as "http://127.0.0.1:2379", got ${quoted(endpoint)}`,
    );
  }
  if (url.search !== '' || url.hash !== '' || endpoint.includes('?') || endpoint.includes('#')) {
    throw new InvalidArgumentError(
      `${what} ${quoted(endpoint)} must not have a query or fragment: /v3/... is appended to it`,
    );
  }
  return endpoint.replace(/\/+$/, '');
}

/** An endpoint quoted for a message, or a mention of it when it may hold user info (an `@`). */
function quoted(endpoint: string): string {
  if (endpoint.includes('@')) return '(not repeated: it contains "@", which may hide a user or password)';
  return JSON.stringify(endpoint.length > 100 ? `${endpoint.slice(0, 100)}…` : endpoint);
}
