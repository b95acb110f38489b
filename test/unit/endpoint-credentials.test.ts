// Issue 22, item 6: an endpoint is parsed with URL, and any user info the URL parser would read
// (however it is spelled) or surrounding whitespace is refused with an InvalidArgumentError that
// quotes no secret, from the constructor, a comma-separated string, new Etcd(optionsFromEnv(...)) and optionsFromEnv.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Etcd, InvalidArgumentError, optionsFromEnv } from 'etcd-fetch';
import { clientUrlsOf } from '../../src/core/endpoints.ts';

const SECRET = 'S3cretPW';

/** Spellings the WHATWG URL parser reads as user info (each was checked with `new URL`). */
const WITH_CREDENTIALS = [
  `http://root:${SECRET}@127.0.0.1:2379`,
  `http:/root:${SECRET}@127.0.0.1:2379`,
  `http:root:${SECRET}@127.0.0.1:2379`,
  `http:///root:${SECRET}@127.0.0.1:2379`,
  `http:\\\\root:${SECRET}@127.0.0.1:2379`,
  `http:\\root:${SECRET}@127.0.0.1:2379`,
  `HTTP://root:${SECRET}@127.0.0.1:2379`,
  `https://root:${SECRET}@127.0.0.1:2379`,
  `https://:${SECRET}@127.0.0.1:2379`,
  `http://${SECRET}@127.0.0.1:2379`,
  `http://root:${SECRET}%40x@127.0.0.1:2379`,
  `http://root:${SECRET}@[::1]:2379`,
  `http://root:${SECRET}@127.0.0.1:2379/`,
  `http://a@b:${SECRET}@127.0.0.1:2379`,
];
/** The same with whitespace or control characters the URL parser strips or ignores. */
const WHITESPACED = [
  ` http://root:${SECRET}@127.0.0.1:2379`,
  `\thttp://root:${SECRET}@127.0.0.1:2379`,
  `http://root:${SECRET}@127.0.0.1:2379\n`,
  `\u0000http://root:${SECRET}@127.0.0.1:2379`,
  `http://ro\tot:${SECRET}@127.0.0.1:2379`,
  `http://root:${SECRET}@127.0.0.1:2379 `,
  ` http://127.0.0.1:2379`,
  `http://127.0.0.1:2379\t`,
  `http://127.0.0.1:\n2379`,
];
/** Not URLs at all, but with a secret in them: the error must not repeat it. */
const MALFORMED = [
  `root:${SECRET}@127.0.0.1:2379`,
  `http://root:${SECRET}@`,
  `http://root:${SECRET}@127.0.0.1:port`,
  `//root:${SECRET}@127.0.0.1:2379`,
  `ftp://root:${SECRET}@host`,
];

function refusalOf(make: () => unknown): InvalidArgumentError {
  try {
    make();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, `an InvalidArgumentError, got ${inspect(error)}`);
    return error;
  }
  assert.fail('was accepted');
}

function assertQuotesNoSecret(error: Error, what: string): void {
  for (const text of [error.message, String(error), inspect(error, { depth: Infinity }), JSON.stringify(error)]) {
    assert.ok(!text.includes(SECRET), `${what}: the error repeats the secret: ${text}`);
  }
}

describe('credentials and whitespace in endpoints', () => {
  for (const endpoint of [...WITH_CREDENTIALS, ...WHITESPACED, ...MALFORMED]) {
    test(`refused without repeating a secret: ${JSON.stringify(endpoint)}`, () => {
      const error = refusalOf(() => new Etcd({ endpoints: [endpoint] }));
      assertQuotesNoSecret(error, 'new Etcd');
    });
  }

  test('every spelling with user info says why: a user or password is not allowed in an endpoint', () => {
    for (const endpoint of [...WITH_CREDENTIALS, ...WITH_CREDENTIALS.map((e) => ` ${e}`)]) {
      assert.match(refusalOf(() => new Etcd({ endpoints: [endpoint.trim()] })).message, /user or password/, endpoint);
    }
  });

  test('surrounding whitespace in a list item is refused and named', () => {
    assert.match(refusalOf(() => new Etcd({ endpoints: [' http://127.0.0.1:2379'] })).message, /whitespace/);
    assert.match(refusalOf(() => new Etcd({ endpoints: ['http://127.0.0.1:2379\n'] })).message, /whitespace/);
  });

  test('in a comma-separated string, and through new Etcd(optionsFromEnv(...)) and optionsFromEnv', () => {
    for (const endpoint of [...WITH_CREDENTIALS, ...MALFORMED]) {
      const list = `http://127.0.0.1:2379, ${endpoint}`;
      assertQuotesNoSecret(
        refusalOf(() => new Etcd({ endpoints: list })),
        'a comma-separated string',
      );
      assertQuotesNoSecret(
        refusalOf(() => new Etcd(optionsFromEnv({ ETCD_ENDPOINTS: list }))),
        'new Etcd(optionsFromEnv(...))',
      );
      const fromOptions = refusalOf(() => optionsFromEnv({ ETCD_ENDPOINTS: list }));
      assertQuotesNoSecret(fromOptions, 'optionsFromEnv');
      assert.match(fromOptions.message, /ETCD_ENDPOINTS/);
    }
  });

  test('plain endpoints are accepted, without their trailing slashes', () => {
    const etcd = new Etcd({
      endpoints: [
        'http://127.0.0.1:2379/',
        'HTTPS://Example.COM:2379',
        'http://[::1]:2379',
        'http://10.0.0.1:2379/etcd/',
      ],
    });
    assert.deepEqual(etcd.transport.endpoints, [
      'http://127.0.0.1:2379',
      'HTTPS://Example.COM:2379',
      'http://[::1]:2379',
      'http://10.0.0.1:2379/etcd',
    ]);
    etcd.close();
  });

  test('a pinned endpoint option is checked the same way, before anything is sent', async () => {
    let sent = 0;
    const etcd = new Etcd({ endpoints: 'http://127.0.0.1:2379', fetch: async () => (sent++, new Response('{}')) });
    for (const endpoint of [...WITH_CREDENTIALS, ...WHITESPACED]) {
      for (const call of [
        () => etcd.transport.request('/maintenance/status', {}, { endpoint }),
        () => etcd.transport.openStream('/watch', '{}', { endpoint }),
      ]) {
        const error = await call().then(
          () => assert.fail(`${JSON.stringify(endpoint)} was accepted`),
          (caught: unknown) => caught,
        );
        assert.ok(error instanceof InvalidArgumentError, `an InvalidArgumentError, got ${inspect(error)}`);
        assertQuotesNoSecret(error, 'a pinned endpoint');
      }
    }
    assert.equal(sent, 0);
    etcd.close();
  });

  test('discovered client URLs with user info are skipped', () => {
    const members = {
      members: [
        {
          clientURLs: [
            `http://root:${SECRET}@10.0.0.1:2379`,
            `http:/root:${SECRET}@10.0.0.2:2379`,
            'http://10.0.0.3:2379/',
          ],
        },
      ],
    };
    assert.deepEqual(clientUrlsOf(members), ['http://10.0.0.3:2379']);
  });
});
