import { HEADER_TOKEN_RULE, isHeaderToken } from './auth-token.ts';
import { describe } from './codec.ts';
import { parseEndpoint } from './endpoints.ts';
import { InvalidArgumentError } from './errors.ts';

/**
 * Refuses client options that cannot work, before anything is sent: a wrong type, NaN, a
 * negative or empty value, an endpoint that is no plain http(s) URL, malformed credentials.
 */
export function checkClientOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(`client options must be an object, got ${describe(options)}`);
  const o = options as Record<string, unknown>;
  if ('endpoints' in o) checkEndpoints(o.endpoints);
  if (o.timeout !== undefined) positive(o.timeout, 'timeout');
  if (
    o.maxResponseBytes !== undefined &&
    (!Number.isSafeInteger(o.maxResponseBytes) || (o.maxResponseBytes as number) < 1)
  ) {
    throw new InvalidArgumentError(`maxResponseBytes must be a positive integer, got ${describe(o.maxResponseBytes)}`);
  }
  if (o.fetch !== undefined && typeof o.fetch !== 'function')
    throw new InvalidArgumentError(`fetch must be a function, got ${describe(o.fetch)}`);
  if (o.discover !== undefined && typeof o.discover !== 'boolean') {
    const onError = (o.discover as { onError?: unknown } | null)?.onError;
    if (
      typeof o.discover !== 'object' ||
      o.discover === null ||
      (onError !== undefined && typeof onError !== 'function')
    ) {
      throw new InvalidArgumentError(`discover must be true, false or { onError(error) }, got ${describe(o.discover)}`);
    }
  }
  if (o.circuitBreaker !== undefined) checkCircuitBreaker(o.circuitBreaker);
  if (o.batch !== undefined && o.batch !== false) {
    const { maxOps, writes } = (o.batch ?? {}) as { maxOps?: unknown; writes?: unknown };
    const badMaxOps = maxOps !== undefined && (!Number.isSafeInteger(maxOps) || (maxOps as number) < 1);
    if (
      typeof o.batch !== 'object' ||
      o.batch === null ||
      badMaxOps ||
      (writes !== undefined && typeof writes !== 'boolean')
    ) {
      throw new InvalidArgumentError(
        `batch must be false or { maxOps: a positive integer, writes: a boolean }, got ${describe(o.batch)}`,
      );
    }
  }
  for (const flag of ['ordering', 'requireLeader', 'failFast']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean')
      throw new InvalidArgumentError(`${flag} must be true or false, got ${describe(o[flag])}`);
  }
  if ('auth' in o && o.auth !== undefined) checkAuth(o.auth);
}

function checkEndpoints(endpoints: unknown): void {
  const list = typeof endpoints === 'string' ? endpoints.split(',').map((e) => e.trim()) : endpoints;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidArgumentError(
      `endpoints must be a URL or a non-empty list of them, such as "http://127.0.0.1:2379", got ${describe(endpoints)}`,
    );
  }
  for (const endpoint of list) checkEndpoint(endpoint);
}

export function checkEndpoint(endpoint: unknown): asserts endpoint is string {
  parseEndpoint(endpoint);
}

function checkCircuitBreaker(value: unknown): void {
  if (typeof value !== 'object' || value === null)
    throw new InvalidArgumentError(`circuitBreaker must be an object, got ${describe(value)}`);
  const { failureThreshold, cooldown } = value as { failureThreshold?: unknown; cooldown?: unknown };
  if (failureThreshold !== undefined && (!Number.isSafeInteger(failureThreshold) || (failureThreshold as number) < 1)) {
    throw new InvalidArgumentError(
      `circuitBreaker.failureThreshold must be a positive integer, got ${describe(failureThreshold)}`,
    );
  }
  if (cooldown !== undefined && (typeof cooldown !== 'number' || !Number.isFinite(cooldown) || cooldown < 0)) {
    throw new InvalidArgumentError(
      `circuitBreaker.cooldown must be a number of milliseconds (0 or more), got ${describe(cooldown)}`,
    );
  }
}

function checkAuth(auth: unknown): void {
  if (typeof auth !== 'object' || auth === null) {
    throw new InvalidArgumentError(
      `auth takes { username, password } or { token }, got ${typeof auth === 'string' ? 'a string' : describe(auth)}`,
    );
  }
  const { token, username, password } = auth as { token?: unknown; username?: unknown; password?: unknown };
  if (typeof token === 'function') return; // a token source of the caller's own
  if (token !== undefined) return checkToken(token);
  if (typeof username !== 'string' || username === '')
    throw new InvalidArgumentError('auth.username must be a non-empty string');
  if (typeof password !== 'string' && typeof password !== 'function') {
    throw new InvalidArgumentError('auth.password must be a string, or a function returning one');
  }
}

/** A token goes into the `Authorization` header as is: it must be a header value (never quoted: it is a secret). */
export function checkToken(token: unknown): asserts token is string {
  if (typeof token !== 'string') throw new InvalidArgumentError(`auth.token must be a string, got ${typeof token}`);
  if (!isHeaderToken(token))
    throw new InvalidArgumentError(`the auth token is not a valid header value: ${HEADER_TOKEN_RULE}`);
}

function positive(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds, got ${describe(value)}`);
  }
}
