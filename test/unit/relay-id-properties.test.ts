// Property tests (fast-check) of how the relay reads a Last-Event-ID: any string parses to a
// resume point of safe, non-negative integers or is refused with InvalidArgumentError, and never
// throws anything else, through the parser, the resume window (plain and signed ids) and relayWatch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import type { Watchable } from '../../src/relay/index.ts';
import { relayWatch } from '../../src/relay/relay.ts';
import { eventId, parseEventId, resumePoint } from '../../src/relay/relay-event.ts';
import { RelayPool } from '../../src/relay/relay-pool.ts';
import { admitResume } from '../../src/relay/resume-window.ts';
import { IdSigner } from '../../src/relay/signed-ids.ts';

const MAX = Number.MAX_SAFE_INTEGER;

/** Strings shaped like ids and near their edges, and any text at all. */
const digits = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
  fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 53n + 3n }).map(String),
  fc.integer({ min: 0, max: 1_000 }).map(String),
  fc.stringMatching(/^[0-9]{0,40}$/),
);
const idLike = fc.oneof(
  digits,
  fc.tuple(digits, digits).map(([a, b]) => `${a}.${b}`),
  fc
    .tuple(
      fc.constantFrom('', ' ', '\t', '  ', '\u00a0', '-', '+', '0x', '.', '\u0000', '\u2028'),
      digits,
      fc.constantFrom('', ' ', '\t', 'e3', '.', '..', '\n', 'n', '\u0663'),
    )
    .map(([a, b, c]) => a + b + c),
  fc.constantFrom(
    'NaN',
    'Infinity',
    '-0',
    '1e3',
    '١٢',
    '',
    ' ',
    '.',
    '1.',
    '.1',
    '1..2',
    '9'.repeat(400),
    `${MAX}`,
    `${MAX - 1}`,
    `${MAX - 1}.${MAX - 1}`,
    `${MAX}.0`,
    `0.${MAX}`,
  ),
);
const anyString = fc.oneof(
  idLike,
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);

function checkPoint(point: { startRevision: number; skip: number }, what: string): void {
  for (const value of [point.startRevision, point.skip]) {
    assert.ok(Number.isSafeInteger(value) && value >= 0 && value <= MAX, `${what}: ${JSON.stringify(point)}`);
  }
}

describe('relay id parsing: properties', () => {
  test('any string parses to safe non-negative integers or throws InvalidArgumentError, nothing else', () => {
    fc.assert(
      fc.property(anyString, (id) => {
        let point: { startRevision: number; skip: number };
        try {
          point = parseEventId(id);
        } catch (error) {
          assert.ok(error instanceof InvalidArgumentError, `${JSON.stringify(id)} threw ${String(error)}`);
          assert.equal(resumePoint(id), undefined);
          return;
        }
        checkPoint(point, JSON.stringify(id));
        assert.deepEqual(resumePoint(id), point);
        // Only ASCII digits (and one dot), spaces or tabs around them.
        assert.match(id, /^[ \t]*[0-9]+(\.[0-9]+)?[ \t]*$/);
      }),
      { numRuns: 5_000 },
    );
  });

  test('every id the relay writes parses back to the exact resume point', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX - 1 }),
        fc.integer({ min: 0, max: MAX - 1 }),
        fc.boolean(),
        (revision, index, last) => {
          const point = parseEventId(eventId(revision, index, last));
          assert.deepEqual(
            point,
            last ? { startRevision: revision + 1, skip: 0 } : { startRevision: revision, skip: index + 1 },
          );
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('the resume window, with plain or signed ids: a start point of safe integers, a refusal (a revision), or InvalidArgumentError', async () => {
    const pool = new RelayPool();
    pool.firstRevision = 100;
    const signer = new IdSigner('a property-test secret of 32+ characters', '{"prefix":"YS8="}');
    const signedSamples = await Promise.all(['5', '100', '101', '101.3', `${MAX - 1}`].map((id) => signer.sign(id)));
    const sent = fc.oneof(
      anyString,
      fc.constantFrom(...signedSamples),
      fc.tuple(fc.constantFrom(...signedSamples), anyString).map(([a, b]) => a + b),
    );
    await fc.assert(
      fc.asyncProperty(
        sent,
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: MAX }), { nil: undefined }),
        async (id, signed, oldest) => {
          let decision: Awaited<ReturnType<typeof admitResume>>;
          try {
            decision = await admitResume(id, {
              pool,
              signer: signed ? signer : undefined,
              oldest,
              startRevision: undefined,
            });
          } catch (error) {
            assert.ok(error instanceof InvalidArgumentError, `${JSON.stringify(id)} threw ${String(error)}`);
            assert.ok(!signed, 'a signed-id relay refuses (compacted) rather than throws');
            return;
          }
          if (typeof decision === 'number') {
            assert.ok(Number.isSafeInteger(decision) && decision >= 0);
            return;
          }
          if (decision.startRevision === undefined) return;
          checkPoint({ startRevision: decision.startRevision, skip: decision.skip }, JSON.stringify(id));
          assert.ok(
            decision.startRevision >= (oldest ?? (signed ? 0 : 101)),
            'a resume never starts before the window',
          );
        },
      ),
      { numRuns: 1_000 },
    );
  });

  test('relayWatch answers any Last-Event-ID with a stream or a typed 400, and never throws or rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    // A watch that never becomes ready: nothing is sent anywhere.
    const etcd: Watchable = {
      watch: () =>
        ({ ready: new Promise(() => {}), revision: 0, responses: async function* () {}, close() {} }) as never,
    };
    const pool = new RelayPool();
    pool.firstRevision = 10;
    try {
      await fc.assert(
        fc.asyncProperty(anyString, fc.boolean(), async (id, shared) => {
          const url = `http://relay.test/events?lastEventId=${encodeURIComponent(id)}`;
          const response = await relayWatch(etcd, new Request(url), { prefix: 'a/' }, { pool, shared });
          if (response.status === 400) {
            assert.equal(((await response.json()) as { error: { name: string } }).error.name, 'InvalidArgumentError');
          } else {
            assert.equal(response.status, 200);
            await response.body?.cancel();
          }
        }),
        { numRuns: 500 },
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
