// The cause chains below are the ones observed against etcd 3.4.23 over TLS (see
// test/integration/tls.test.ts), rebuilt as plain objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeConnectFailure } from '../../src/core/connect-failure.ts';

const HTTPS = 'https://127.0.0.1:2379';
/** Node: ky's NetworkError <- TypeError "fetch failed" <- the socket's error. */
const node = (cause: object) => ({
  name: 'NetworkError',
  message: 'Request failed due to a network error: POST https://127.0.0.1:2379/v3/kv/range',
  cause: { name: 'TypeError', message: 'fetch failed', cause },
});
const deno = (message: string) => node({ name: 'Error', message });

describe('describeConnectFailure', () => {
  test('an untrusted server certificate (Node, Bun) is a TLS failure no retry can fix', () => {
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    ]) {
      const failure = describeConnectFailure(
        node({ name: 'Error', code, message: 'unable to verify the first certificate' }),
        HTTPS,
      );
      assert.ok(failure, code);
      assert.match(failure.reason, /^TLS: the server's certificate is not trusted/);
      assert.ok(failure.reason.includes(code));
      assert.deepEqual([failure.retryable, failure.refused, failure.mayHaveApplied], [false, false, false]);
    }
    // Bun: the TypeError itself carries the code.
    const bun = describeConnectFailure({
      name: 'TypeError',
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      message: 'unable to verify the first certificate',
    });
    assert.match(bun!.reason, /not trusted/);
  });

  test('expired and wrong-name certificates say so', () => {
    assert.match(
      describeConnectFailure(node({ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }))!.reason,
      /expired/,
    );
    assert.match(
      describeConnectFailure(
        node({ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" }),
      )!.reason,
      /not valid for this host name/,
    );
  });

  test('a TLS alert from the server about the client certificate (Node over HTTP/2) names the client certificate', () => {
    for (const code of [
      'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE',
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
    ]) {
      const failure = describeConnectFailure(
        node({ code, message: 'ssl/tls alert bad certificate: SSL alert number 42' }),
        HTTPS,
      );
      assert.match(failure!.reason, /client certificate/, code);
      assert.equal(failure!.retryable, false);
    }
    assert.match(
      describeConnectFailure(node({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: '' }))!.reason,
      /requires a client certificate/,
    );
  });

  test('Node over HTTP/1.1: a fresh https connection closed before any byte is read as a refused client certificate', () => {
    const closed = node({
      name: 'SocketError',
      code: 'UND_ERR_SOCKET',
      message: 'other side closed',
      socket: { bytesWritten: 249, bytesRead: 0 },
    });
    const failure = describeConnectFailure(closed, HTTPS);
    assert.match(failure!.reason, /client certificate/);
    assert.equal(failure!.retryable, false);
    // Not on plain http, not on a connection that had answered before (a stale keep-alive socket).
    assert.equal(describeConnectFailure(closed, 'http://127.0.0.1:2379'), undefined);
    assert.equal(describeConnectFailure(closed), undefined);
    const stale = node({
      name: 'SocketError',
      code: 'UND_ERR_SOCKET',
      message: 'other side closed',
      socket: { bytesRead: 5120 },
    });
    assert.equal(describeConnectFailure(stale, HTTPS), undefined);
  });

  test('Deno names the problem in messages only', () => {
    const cases: [string, RegExp][] = [
      [
        'error sending request for url (https://127.0.0.1:2379/v3/kv/range): client error (Connect): invalid peer certificate: UnknownIssuer',
        /not trusted \(UnknownIssuer\)/,
      ],
      ['invalid peer certificate: Expired', /expired/],
      ['invalid peer certificate: NotValidForName', /host name/],
      ['received fatal alert: BadCertificate', /client certificate/],
      ['received fatal alert: CertificateRequired', /requires a client certificate/],
    ];
    for (const [message, reason] of cases) {
      const failure = describeConnectFailure(deno(message), HTTPS);
      assert.match(failure!.reason, reason, message);
      assert.equal(failure!.retryable, false);
    }
    assert.match(describeConnectFailure(deno('connection closed'), HTTPS)!.reason, /client certificate/);
    assert.equal(describeConnectFailure(deno('connection closed'), 'http://127.0.0.1:2379'), undefined);
  });

  test('Bun: EPROTO from a failed handshake', () => {
    const failure = describeConnectFailure(
      {
        name: 'TypeError',
        code: 'EPROTO',
        message: 'EPROTO: The TLS handshake failed. Does the server speak TLS on this port?',
      },
      HTTPS,
    );
    assert.match(failure!.reason, /client certificate/);
    assert.equal(failure!.retryable, false);
  });

  test('https to a plain-http port: wrong version number', () => {
    const failure = describeConnectFailure(
      node({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' }),
      HTTPS,
    );
    assert.match(failure!.reason, /does not speak TLS/);
  });

  test('a refused connection is retryable and surely not applied', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ConnectionRefused']) {
      const failure = describeConnectFailure(node({ code, message: `connect ${code} 127.0.0.1:2379` }), HTTPS);
      assert.deepEqual([failure!.retryable, failure!.refused, failure!.mayHaveApplied], [true, true, false], code);
    }
    // Node's happy eyeballs: an AggregateError holding the attempts.
    const aggregate = node({
      name: 'AggregateError',
      message: '',
      errors: [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED ::1:2379' }],
    });
    assert.equal(describeConnectFailure(aggregate)!.refused, true);
  });

  test('anything else is left to the caller', () => {
    for (const error of [
      undefined,
      null,
      'text',
      42,
      new Error('boom'),
      node({ code: 'ECONNRESET', message: 'read ECONNRESET' }),
      { name: 'TypeError', message: 'Failed to fetch' },
    ]) {
      assert.equal(describeConnectFailure(error, HTTPS), undefined);
    }
  });

  test('a cause cycle does not hang', () => {
    const a: { message: string; cause?: unknown } = { message: 'a' };
    a.cause = { message: 'b', cause: a };
    assert.equal(describeConnectFailure(a, HTTPS), undefined);
  });
});
