// The guard of `npm test` against tests that vanish: scripts/test-ledger.ts fed with recorded
// events, and scripts/test-run.ts run on fixture files in a temporary folder (written here, so no
// fixture matches test/**/*.test.ts): one whose process exits 0 in the middle of its tests (as
// --test-force-exit did to files whose report was still in their stdout buffer), and one whose
// process never ends.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { type LedgerEvent, parseEvents, TestLedger } from '../../scripts/test-ledger.ts';

const FILE = '/project/test/unit/a.test.ts';

/** The events Node's runner reports for one file: its wrapper, then what its process reported. */
function fileEvents(options: { tests: string[]; reported: number; summary: boolean; ended: boolean }): LedgerEvent[] {
  const wrapper = { file: FILE, name: 'test/unit/a.test.ts', nesting: 0, line: 1, column: 1, isFile: true };
  const events: LedgerEvent[] = [
    { type: 'test:enqueue', ...wrapper },
    { type: 'test:dequeue', ...wrapper },
    { type: 'test:enqueue', file: FILE, name: 'suite', nesting: 0, line: 3, column: 1 },
  ];
  for (const name of options.tests)
    events.push({ type: 'test:enqueue', file: FILE, name, nesting: 1, line: 4, column: 3 });
  for (const name of options.tests.slice(0, options.reported)) {
    events.push({ type: 'test:pass', file: FILE, name, nesting: 1, line: 4, column: 3, kind: 'test' });
  }
  if (options.reported === options.tests.length) {
    events.push({ type: 'test:pass', file: FILE, name: 'suite', nesting: 0, line: 3, column: 1, kind: 'suite' });
  }
  if (options.summary) events.push({ type: 'test:summary', file: FILE });
  if (options.ended) events.push({ type: 'test:complete', ...wrapper, passed: true });
  return events;
}

function ledgerOf(events: LedgerEvent[], at = 0): TestLedger {
  const ledger = new TestLedger();
  for (const event of events) ledger.add(event, at);
  return ledger;
}

describe('the test ledger', () => {
  test('a file that reported every test it registered, its summary and its end is complete', () => {
    const ledger = ledgerOf(fileEvents({ tests: ['x', 'x', 'y'], reported: 3, summary: true, ended: true }));
    assert.deepEqual(ledger.problems(), []);
    assert.deepEqual(ledger.totals(), { files: 1, tests: 3, suites: 1, passed: 3, failed: 0, skipped: 0, todo: 0 });
  });

  test('a report cut short names the file and every test that never reported, even one of two of a name', () => {
    const ledger = ledgerOf(fileEvents({ tests: ['x', 'x', 'y', 'z'], reported: 1, summary: false, ended: true }));
    const [problem, ...others] = ledger.problems();
    assert.deepEqual(others, []);
    assert.match(problem!, /^test\/unit\/a\.test\.ts: /);
    assert.match(problem!, /before its report reached its final test:summary/);
    assert.match(problem!, /4 of the 5 tests and suites it registered never reported a result/);
    for (const name of ['"suite" (line 3)', '"x" (line 4)', '"y" (line 4)', '"z" (line 4)']) {
      assert.ok(problem!.includes(`- ${name}`), `${name} in ${problem}`);
    }
    assert.equal(problem!.split('- "x"').length - 1, 1, 'the x that reported is not listed');
  });

  test('a missing summary alone, and a file that never ended, are problems', () => {
    assert.match(
      ledgerOf(fileEvents({ tests: ['x'], reported: 1, summary: false, ended: true })).problems()[0]!,
      /the end of its report was lost/,
    );
    assert.match(
      ledgerOf(fileEvents({ tests: ['x'], reported: 1, summary: false, ended: false })).problems()[0]!,
      /it never finished/,
    );
  });

  test('a file is stalled once every test it registered reported and it stayed quiet for the grace, not before', () => {
    const running = ledgerOf(fileEvents({ tests: ['x', 'y'], reported: 1, summary: false, ended: false }), 0);
    assert.deepEqual(running.stalled(1_000_000, 60_000), [], 'a test is still running');
    const idle = ledgerOf(fileEvents({ tests: ['x', 'y'], reported: 2, summary: false, ended: false }), 0);
    assert.deepEqual(idle.stalled(59_999, 60_000), []);
    assert.deepEqual(idle.stalled(60_000, 60_000), ['test/unit/a.test.ts']);
    const ended = ledgerOf(fileEvents({ tests: ['x'], reported: 1, summary: true, ended: true }), 0);
    assert.deepEqual(ended.stalled(1_000_000, 60_000), []);
  });

  test('parseEvents reads whole lines and ignores a partial last one', () => {
    assert.deepEqual(parseEvents('{"type":"test:summary","file":"f"}\n\n{"type":"test:pa'), [
      { type: 'test:summary', file: 'f' },
    ]);
  });
});

describe('scripts/test-run.ts on fixture files', () => {
  const folder = mkdtempSync(join(tmpdir(), 'etcd-fetch-ledger-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const script = resolve(import.meta.dirname, '../../scripts/test-run.ts');
  function run(...args: string[]) {
    const started = performance.now();
    const { status, stdout, stderr } = spawnSync(process.execPath, [script, ...args], {
      cwd: folder,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status, stdout, stderr, seconds: (performance.now() - started) / 1000 };
  }
  writeFileSync(
    join(folder, 'whole.fixture.ts'),
    `import { describe, it, test } from 'node:test';
describe('a suite', () => {
  for (const n of [1, 2, 3]) it(\`case \${n}\`, () => {});
  it.skip('skipped', () => {});
  it.todo('to do');
});
test('with a subtest', async (t) => { await t.test('sub', () => {}); });
`,
  );
  writeFileSync(
    join(folder, 'cut.fixture.ts'),
    `import { describe, it } from 'node:test';
describe('cut short', () => {
  it('passes', () => {});
  it('ends the process with exit code 0', async () => {
    await new Promise((r) => setTimeout(r, 300));
    process.exit(0);
  });
  it('a failing test that must not vanish', () => { throw new Error('fails'); });
});
`,
  );
  writeFileSync(
    join(folder, 'hangs.fixture.ts'),
    `import { test } from 'node:test';
setInterval(() => {}, 1_000);
test('passes, but its file leaves an interval running', () => {});
`,
  );

  test('a whole file passes, with its count', () => {
    const { status, stdout, stderr } = run('whole.fixture.ts');
    assert.equal(status, 0, stderr);
    assert.match(stdout, /# test-run: 7 tests \(5 passed, 0 failed, 1 skipped, 1 todo\) and 1 suites in 1 files/);
  });

  test('a file whose process exits 0 mid-way fails the run, naming the file and the tests that vanished', () => {
    const { status, stderr } = run('whole.fixture.ts', 'cut.fixture.ts');
    assert.notEqual(status, 0);
    assert.match(stderr, /FAILED: 1 test file did not report every test/);
    assert.match(stderr, /cut\.fixture\.ts: its process ended \(with exit code 0\) before its report reached/);
    assert.ok(stderr.includes('- "a failing test that must not vanish" (line 8)'), stderr);
    assert.ok(stderr.includes('- "ends the process with exit code 0" (line 4)'), stderr);
    assert.ok(!stderr.includes('whole.fixture.ts'), stderr);
  });

  test('a file whose process never ends fails the run after the grace, naming it', () => {
    const { status, stderr, seconds } = run('--exit-grace=2', 'hangs.fixture.ts');
    assert.notEqual(status, 0);
    assert.match(
      stderr,
      /hangs\.fixture\.ts: every test it registered has reported, but its process has not ended 2 s/,
    );
    assert.match(stderr, /the run was stalled: hangs\.fixture\.ts/);
    assert.ok(seconds < 30, `stopped after ${seconds} s`);
  });

  test('--test-force-exit is refused', () => {
    const { status, stderr } = run('--test-force-exit', 'whole.fixture.ts');
    assert.equal(status, 2);
    assert.match(stderr, /--test-force-exit is refused/);
  });
});
