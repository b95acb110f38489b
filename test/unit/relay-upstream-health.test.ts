// When a relay counts its upstream watch as gone: failing for a whole window, not a brief outage.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnavailableError } from '../../src/core/errors.ts';
import { UpstreamHealth } from '../../src/relay/upstream-health.ts';

const info = (attempt: number) => ({
  attempt,
  delay: 50,
  error: new Error('refused at http://127.0.0.1:1'),
  resumeRevision: 5,
});

describe('relay upstream health', () => {
  test('a watch failing for less than the window is not gone; failing past it is, with an error that names no endpoint', async () => {
    const health = new UpstreamHealth(200);
    assert.equal(health.failed(info(1)), undefined);
    assert.equal(health.failed(info(2)), undefined);
    await new Promise((r) => setTimeout(r, 250));
    const gone = health.failed(info(3));
    assert.ok(gone instanceof UnavailableError);
    assert.doesNotMatch(gone.message, /127\.0\.0\.1/);
  });

  test('a watch that recovered in between (its attempts start over at 1) is not gone', async () => {
    const health = new UpstreamHealth(200);
    health.failed(info(1));
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(health.failed(info(1)), undefined, 'a new run of failures starts its own window');
    assert.equal(health.failed(info(2)), undefined);
  });
});
