import type { CallOptions, WireObject } from './call-options.ts';
import { FailedPreconditionError, InvalidArgumentError, MalformedResponseError } from './errors.ts';

/**
 * Supplies the `Authorization` token of every call.
 *
 * @example
 * ```ts
 * const fixed: TokenSource = { token: async () => myToken, invalidate: () => false };
 * const etcd = new Etcd({ auth: fixed });
 * ```
 */
export interface TokenSource {
  /** The token to send, or undefined to send no `Authorization` header. */
  token(options: CallOptions): Promise<string | undefined>;
  /**
   * Called when etcd rejected `token` (undefined: the call went without one); returns true
   * when a retry with a fresh token makes sense.
   */
  invalidate(token: string | undefined): boolean;
}

/** Sends one unary call (the transport's `request`), for authenticating. */
export type SendRequest = (
  path: string,
  body: object,
  options: CallOptions & { anonymous?: boolean; idempotent?: boolean },
) => Promise<WireObject>;

/**
 * Credentials for `new Etcd({ auth })`: a user and password, or a token obtained elsewhere.
 * The password may be a function, asked at every authentication, so a rotated password is
 * picked up when etcd drops the old one's tokens (a password change revokes them).
 *
 * @example
 * ```ts
 * new Etcd({ auth: { username: 'app', password: () => secrets.read('etcd-password') } });
 * new Etcd({ auth: { token: tokenFromElsewhere } });
 * ```
 */
export type AuthOptions = { username: string; password: string | PasswordSource } | { token: string };

/**
 * Returns the current password (from a secret store, an environment, ...).
 *
 * @example
 * ```ts
 * const password: PasswordSource = async () => (await fetch('/secrets/etcd')).text();
 * ```
 */
export type PasswordSource = () => string | Promise<string>;

/**
 * A token is sent as the `Authorization` header as is, so it must be a header value that means
 * the same bytes in every runtime: visible ASCII (RFC 9110's VCHAR), with spaces or tabs only
 * inside. etcd's simple tokens and JWTs always are. `fetch` would refuse the rest (a character
 * past U+00FF, a line break, NUL) only once the call is under way, or send it altered (Latin-1
 * as one byte, surrounding whitespace trimmed).
 */
export function isHeaderToken(token: string): boolean {
  return /^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/.test(token);
}

/** What `isHeaderToken` asks, for error messages (which never quote the token). */
export const HEADER_TOKEN_RULE =
  'a token holds only visible ASCII characters (spaces or tabs only inside), as etcd\'s do ("AImMSnkoKpGqGPsP.11")';

// Secrets live in `#private` fields: invisible to `console.log`, `util.inspect`,
// `JSON.stringify`, `Object.keys` and structured cloning.

/** A fixed token: used as is, never refreshed. */
export class StaticToken implements TokenSource {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string' || !isHeaderToken(value))
      throw new InvalidArgumentError(`the auth token is not a valid header value: ${HEADER_TOKEN_RULE}`);
    this.#value = value;
  }

  async token(): Promise<string> {
    return this.#value;
  }
  invalidate(): boolean {
    return false;
  }
  toJSON(): object {
    return { token: '<hidden>' };
  }
}

/**
 * Authenticates on first use and again when etcd rejects the token; concurrent callers
 * share one authentication. While etcd has authentication disabled (it then refuses any
 * token), calls go without one, and authenticate again once etcd asks for a user.
 */
export class PasswordAuth implements TokenSource {
  readonly username: string;
  readonly #password: string | PasswordSource;
  readonly #send: SendRequest;
  /** The token being fetched or in use; resolves to undefined while etcd's auth is disabled. */
  #pending: Promise<string | undefined> | undefined;
  #current: string | undefined;
  #settled = false;

  constructor(send: SendRequest, username: string, password: string | PasswordSource) {
    this.#send = send;
    this.username = username;
    this.#password = password;
  }

  /** One authentication serves every waiting caller, so no single caller's signal may cancel it. */
  token(_options: CallOptions): Promise<string | undefined> {
    if (this.#pending === undefined) {
      const pending = this.#authenticate().then(
        (token) => {
          if (this.#pending === pending) {
            this.#current = token;
            this.#settled = true;
          }
          return token;
        },
        (error: unknown) => {
          if (this.#pending === pending) this.#pending = undefined;
          throw error;
        },
      );
      this.#pending = pending;
      this.#settled = false;
    }
    return this.#pending;
  }

  invalidate(token: string | undefined): boolean {
    // Only the token in use is dropped: callers still holding an older one share the new one.
    if (this.#settled && this.#current === token) {
      this.#pending = undefined;
      this.#current = undefined;
      this.#settled = false;
    }
    return true;
  }

  async #authenticate(): Promise<string | undefined> {
    try {
      const password = typeof this.#password === 'function' ? await this.#password() : this.#password;
      const answer = await this.#send(
        '/auth/authenticate',
        { name: this.username, password },
        {
          anonymous: true,
          // A second token is harmless, so authentication fails over like a read.
          idempotent: true,
        },
      );
      // A token no header can carry would fail every call, each as if etcd were unreachable.
      if (typeof answer.token !== 'string' || !isHeaderToken(answer.token)) {
        const what =
          typeof answer.token === 'string'
            ? `a token that is not a valid header value: ${HEADER_TOKEN_RULE}`
            : 'no token';
        throw new MalformedResponseError(`etcd answered /v3/auth/authenticate with ${what}`, {
          path: '/v3/auth/authenticate',
        });
      }
      return answer.token;
    } catch (error) {
      if (error instanceof FailedPreconditionError && /authentication is not enabled/i.test(error.message))
        return undefined;
      throw error;
    }
  }

  /** Keeps the password and token out of JSON dumps. */
  toJSON(): object {
    return { username: this.username };
  }
}

/** The token source for `auth` (credentials, a token, or a source of the caller's own). */
export function tokenSourceFor(
  auth: AuthOptions | TokenSource | undefined,
  send: SendRequest,
): TokenSource | undefined {
  if (auth === undefined) return undefined;
  if (typeof auth === 'object' && auth !== null) {
    if ('token' in auth && typeof auth.token === 'function' && 'invalidate' in auth) return auth as TokenSource;
    if ('token' in auth && typeof auth.token === 'string') return new StaticToken(auth.token);
    if (
      'username' in auth &&
      typeof auth.username === 'string' &&
      (typeof auth.password === 'string' || typeof auth.password === 'function')
    ) {
      return new PasswordAuth(send, auth.username, auth.password);
    }
  }
  throw new InvalidArgumentError(
    'auth takes { username, password } (password: a string or a function returning one) or { token }',
  );
}
