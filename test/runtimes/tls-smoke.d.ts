/** KV, txn, watch and lease keep-alive against `endpoint` through `fetch`; resolves to its check lines. */
export function tlsSmoke(
  lib: import('./library.ts').Library,
  options: { endpoint: string; fetch?: (input: Request, init?: RequestInit) => Promise<Response>; name: string },
): Promise<string[]>;

export interface TlsFailure {
  failed: boolean;
  ms: number;
  name?: string;
  message?: string;
  /** Each `cause` down the chain: name, code, message. */
  causes?: string[];
}

/** One get expected to fail (wrong CA, no client certificate): what was thrown and how fast. */
export function tlsFailure(
  lib: import('./library.ts').Library,
  options: { endpoint: string; fetch?: (input: Request, init?: RequestInit) => Promise<Response> },
): Promise<TlsFailure>;
