import type { CallOptions, TokenSource, Transport } from './transport.ts';

/** Credentials for `new Etcd({ auth })`: a user and password, or a token obtained elsewhere. */
export type AuthOptions = { username: string; password: string } | { token: string };

/** A fixed token: used as is, never refreshed. */
export class StaticToken implements TokenSource {
  private readonly value: string;

  constructor(value: string) {
    this.value = value;
  }

  async token(): Promise<string> {
    return this.value;
  }
  invalidate(): boolean {
    return false;
  }
}

/**
 * Authenticates on first use and again when etcd rejects the token; concurrent callers
 * share one authentication.
 */
export class PasswordAuth implements TokenSource {
  private pending: Promise<string> | undefined;
  private current: string | undefined;
  private readonly transport: Transport;
  private readonly username: string;
  private readonly password: string;

  constructor(transport: Transport, username: string, password: string) {
    this.transport = transport;
    this.username = username;
    this.password = password;
  }

  /** One authentication serves every waiting caller, so no single caller's signal may cancel it. */
  token(_options: CallOptions): Promise<string> {
    this.pending ??= this.authenticate().then(
      (token) => (this.current = token),
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }

  invalidate(token: string): boolean {
    if (this.current === token) {
      this.current = undefined;
      this.pending = undefined;
    }
    return true;
  }

  private async authenticate(): Promise<string> {
    const answer = await this.transport.request('/auth/authenticate', { name: this.username, password: this.password }, { anonymous: true });
    return typeof answer.token === 'string' ? answer.token : '';
  }

  /** Keeps the password out of `console.log(client)` and JSON dumps. */
  toJSON(): object {
    return { username: this.username };
  }
}
