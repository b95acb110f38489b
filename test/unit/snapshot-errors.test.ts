import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorFromAnswer } from '../../src/core/answer.ts';
import { EtcdError, PermissionDeniedError, UnauthenticatedError, UnavailableError } from '../../src/core/errors.ts';

// etcd 3.4.23's answers to `/v3/maintenance/snapshot` refused for auth: gRPC code UNKNOWN, HTTP 500.
const refused = (message: string) =>
  JSON.stringify({ error: { grpc_code: 2, http_code: 500, message, http_status: 'Internal Server Error' } });

test('the Snapshot call’s auth failures, which etcd 3.4 reports as UNKNOWN, become typed errors', () => {
  const path = '/v3/maintenance/snapshot';
  const endpoint = 'http://127.0.0.1:2379';
  assert.ok(errorFromAnswer(500, refused('auth: invalid auth token'), endpoint, path) instanceof UnauthenticatedError);
  assert.ok(errorFromAnswer(500, refused('auth: user name is empty'), endpoint, path) instanceof UnauthenticatedError);
  assert.ok(errorFromAnswer(500, refused('auth: permission denied'), endpoint, path) instanceof PermissionDeniedError);
  const other = errorFromAnswer(500, refused('something else'), endpoint, path);
  assert.ok(other instanceof EtcdError && other.constructor === EtcdError && other.code === 2);
});

test('a write that found no quorum in time (UNKNOWN "context deadline exceeded", HTTP 500) is UnavailableError, maybe applied', () => {
  // etcd 3.4's unary error body: {error, message, code}.
  const body = JSON.stringify({ error: 'context deadline exceeded', message: 'context deadline exceeded', code: 2 });
  const error = errorFromAnswer(500, body, 'http://127.0.0.1:2379', '/v3/kv/put');
  assert.ok(error instanceof UnavailableError && error.mayHaveApplied && error.code === 2, String(error));
  assert.match(error.message, /context deadline exceeded/);
});
