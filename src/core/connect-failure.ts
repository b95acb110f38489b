/**
 * What a failed `fetch` says about the connection, read from its `cause` chain: a refused
 * connection (try another endpoint), or a TLS failure that no retry can fix (a certificate that
 * is not trusted, a client certificate the server wants or refuses). Works on plain objects
 * (`name`, `code`, `message`, `cause`), so it runs anywhere and needs no runtime's error classes.
 *
 * What each runtime throws, observed against etcd 3.4.23 (Go's TLS, TLS 1.3):
 * - Node (undici): `TypeError: fetch failed` (wrapped by ky's `NetworkError`) whose cause has a
 *   `code`: `UNABLE_TO_VERIFY_LEAF_SIGNATURE` for an unknown CA; without a client certificate
 *   `ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE` over HTTP/2 (`allowH2`), but over HTTP/1.1 only
 *   `UND_ERR_SOCKET` "other side closed" with `socket.bytesRead === 0` (the alert is lost).
 * - Deno: causes without a code; messages "invalid peer certificate: UnknownIssuer",
 *   "received fatal alert: BadCertificate", or just "connection closed".
 * - Bun: a `TypeError` with `code` `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, or `EPROTO` ("The TLS
 *   handshake failed") without a client certificate.
 * - Browsers and workerd say nothing usable ("Failed to fetch", "internal error; reference = ...").
 */
export interface ConnectFailure {
  /** What went wrong, for an error message, e.g. "TLS: the server's certificate is not trusted (...)". */
  reason: string;
  /** False when trying again (or another endpoint of the same cluster) cannot help. */
  retryable: boolean;
  /** The connection was refused or the host not found: the request surely never reached etcd. */
  refused: boolean;
  /** False when the request cannot have been applied (refused, or the TLS handshake failed). */
  mayHaveApplied: boolean;
  /** The code or message fragment recognised, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`. */
  code: string;
}

const UNTRUSTED = /* @__PURE__ */ new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'INVALID_CA',
]);
const EXPIRED = /* @__PURE__ */ new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const REFUSED = /* @__PURE__ */ new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ConnectionRefused']);
const MAX_DEPTH = 8;

/**
 * Recognises a refused connection or a TLS failure in what `fetch` threw, or returns undefined.
 * `endpoint` (the URL called) lets a connection closed before any answer on `https://` be read
 * as a refused client certificate (the only sign Node's HTTP/1.1 and Deno sometimes give).
 */
export function describeConnectFailure(error: unknown, endpoint?: string): ConnectFailure | undefined {
  const links = chain(error);
  const tls = (reason: string, code: string): ConnectFailure => ({
    reason: `TLS: ${reason}`,
    retryable: false,
    refused: false,
    mayHaveApplied: false,
    code,
  });

  for (const { code, message } of links) {
    if (code !== undefined && UNTRUSTED.has(code)) {
      return tls(`the server's certificate is not trusted (${code}): give your fetch the CA that signed it`, code);
    }
    if (code !== undefined && EXPIRED.has(code))
      return tls(`the server's certificate has expired or is not yet valid (${code})`, code);
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return tls(
        `the server's certificate is not valid for this host name (${code}): use a name or IP in its subjectAltName`,
        code,
      );
    }
    const alert = code !== undefined && /^ERR_SSL_.*ALERT_([A-Z_]+)$/.exec(code);
    if (alert && /CERTIFICATE|UNKNOWN_CA/.test(alert[1]!))
      return clientCertificate(code!, alert[1] === 'CERTIFICATE_REQUIRED');
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(message)) {
      return tls(
        'the server does not speak TLS on this port (wrong version number): use http://, or the TLS port',
        code ?? 'wrong version number',
      );
    }
    // Deno (rustls) names the problem in its message only.
    const peer = /invalid peer certificate: ?([A-Za-z]+)/.exec(message);
    if (peer) {
      const kind = peer[1]!;
      if (/Expired|NotValidYet/.test(kind))
        return tls(`the server's certificate has expired or is not yet valid (${kind})`, kind);
      if (/NotValidForName/.test(kind))
        return tls(`the server's certificate is not valid for this host name (${kind})`, kind);
      return tls(`the server's certificate is not trusted (${kind}): give your fetch the CA that signed it`, kind);
    }
    const fatal =
      /received fatal alert: ?([A-Za-z]+)/.exec(message) ??
      /alert (bad certificate|certificate required|unknown ca|certificate unknown)/i.exec(message);
    if (fatal) return clientCertificate(fatal[1]!, /required/i.test(fatal[1]!));
    if (code === 'EPROTO' && /TLS|SSL|handshake/i.test(message)) {
      return tls(
        `the TLS handshake failed (EPROTO): the server may require a client certificate (mTLS) that was not presented or not accepted, or not speak TLS on this port`,
        code,
      );
    }
  }

  for (const { code } of links) {
    if (code !== undefined && REFUSED.has(code)) {
      const what = code === 'ECONNREFUSED' || code === 'ConnectionRefused' ? 'connection refused' : 'host not found';
      return { reason: `${what} (${code})`, retryable: true, refused: true, mayHaveApplied: false, code };
    }
  }

  // A fresh TLS connection closed before any answer: Go's server drops it after the handshake
  // when the client certificate is missing or not signed by its CA (Node HTTP/1.1, Deno).
  if (endpoint !== undefined && /^https:/i.test(endpoint)) {
    for (const { code, message, bytesRead } of links) {
      const undiciFresh = code === 'UND_ERR_SOCKET' && bytesRead === 0 && /other side closed/.test(message);
      const deno = code === undefined && message === 'connection closed';
      if (undiciFresh || deno) {
        return tls(
          `the server closed the connection right after the handshake, without answering (${code ?? message}): it probably requires a client certificate (mTLS) that was not presented or not accepted`,
          code ?? message,
        );
      }
    }
  }
  return undefined;
}

function clientCertificate(code: string, required: boolean): ConnectFailure {
  const reason = required
    ? `the server requires a client certificate (${code}): give your fetch one signed by the CA etcd trusts (--trusted-ca-file)`
    : `the server refused the client certificate, or requires one that was not presented (${code}): give your fetch one signed by the CA etcd trusts (--trusted-ca-file)`;
  return { reason: `TLS: ${reason}`, retryable: false, refused: false, mayHaveApplied: false, code };
}

interface Link {
  code: string | undefined;
  message: string;
  bytesRead: number | undefined;
}

/** The error and its causes (and an AggregateError's errors), outermost first, as plain fields. */
function chain(error: unknown): Link[] {
  const links: Link[] = [];
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && links.length < MAX_DEPTH * 2) {
    const item = queue.shift();
    if (item === null || typeof item !== 'object' || seen.has(item)) continue;
    seen.add(item);
    const record = item as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      errors?: unknown;
      socket?: { bytesRead?: unknown };
    };
    const bytesRead = record.socket?.bytesRead;
    links.push({
      code: typeof record.code === 'string' ? record.code : undefined,
      message: typeof record.message === 'string' ? record.message : '',
      bytesRead: typeof bytesRead === 'number' ? bytesRead : undefined,
    });
    queue.push(record.cause);
    if (Array.isArray(record.errors)) queue.push(...record.errors.slice(0, MAX_DEPTH));
  }
  return links;
}
