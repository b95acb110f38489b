// `node scripts/test-run.ts [--exit-grace=SECONDS] [node --test options] FILES-OR-GLOBS...`: runs
// `node --test` with the spec reporter on stdout and `test-events-reporter.ts` recording events to a
// temporary file, then fails the run, naming the file and the tests, when any test file's report
// was cut short (see test-ledger.ts): Node's runner counts a file whose process exits 0 as passed
// even when the tests after some point never reported, so a failing test among them would vanish.
//
// It refuses --test-force-exit: that flag makes each file's process call process.exit() as soon as
// its report is handed to stdout, and a report still buffered there (the pipe to the runner full on
// a loaded machine) is lost. What the flag was for, a file whose process never ends because
// something it opened stays open, is a watchdog here instead: once every test such a file
// registered has reported and nothing more comes from it for --exit-grace seconds (default 60), the
// run stops and fails naming the file.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type LedgerEvent, TestLedger } from './test-ledger.ts';

const DEFAULT_GRACE_S = 60;

let graceS = DEFAULT_GRACE_S;
const nodeArgs: string[] = [];
for (const arg of process.argv.slice(2)) {
  const grace = /^--exit-grace=(\d+(?:\.\d+)?)$/.exec(arg);
  if (grace) {
    graceS = Number(grace[1]);
    continue;
  }
  if (arg === '--test-force-exit') {
    console.error(
      'test-run: --test-force-exit is refused: it can exit a test file before its report is flushed, so its last tests vanish and the run stays green (the exit watchdog covers a file that never ends)',
    );
    process.exit(2);
  }
  if (/^--test-isolation(=|$)/.test(arg)) {
    console.error('test-run: the ledger needs each file in its own process (the default --test-isolation=process)');
    process.exit(2);
  }
  if (/^--test-reporter(-destination)?(=|$)/.test(arg)) {
    console.error('test-run: the reporters are set here (spec on stdout, the event recorder to a file)');
    process.exit(2);
  }
  nodeArgs.push(arg);
}

const folder = mkdtempSync(join(tmpdir(), 'etcd-fetch-test-run-'));
const eventsPath = join(folder, 'events.jsonl');
const recorder = pathToFileURL(join(import.meta.dirname, 'test-events-reporter.ts')).href;

const ledger = new TestLedger();
let pending = '';
let fd: number | undefined;
const chunk = Buffer.alloc(1 << 16);
/** Reads what the recorder has written since the last call into the ledger. */
function readEvents(final: boolean): void {
  if (fd === undefined) {
    try {
      fd = openSync(eventsPath, 'r');
    } catch {
      return;
    }
  }
  const decoder = new TextDecoder();
  let text = '';
  for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) {
    text += decoder.decode(chunk.subarray(0, read), { stream: true });
  }
  text += decoder.decode();
  const lines = (pending + text).split('\n');
  pending = lines.pop() ?? '';
  if (final && pending !== '') lines.push(pending);
  const now = Date.now();
  for (const line of lines) {
    if (line.trim() === '') continue;
    try {
      ledger.add(JSON.parse(line) as LedgerEvent, now);
    } catch {
      console.error(`test-run: an unreadable event line: ${line.slice(0, 200)}`);
    }
  }
}

const env = { ...process.env };
// Set in a test file's process; a runner started from one (the ledger's own test) runs on its own.
delete env.NODE_TEST_CONTEXT;
const started = performance.now();
// Its own process group, so that stopping a stalled run also stops the files' processes and
// whatever they started (etcd servers, browsers).
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${recorder}`,
    `--test-reporter-destination=${eventsPath}`,
    ...nodeArgs,
  ],
  { stdio: 'inherit', detached: true, env },
);

let stopping: string | undefined;
function stopRun(reason: string, signal: NodeJS.Signals): void {
  stopping ??= reason;
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => stopRun(`stopped by ${signal}`, signal));
}

const watchdog = setInterval(() => {
  readEvents(false);
  const stalled = ledger.stalled(Date.now(), graceS * 1000);
  if (stalled.length === 0 || stopping !== undefined) return;
  console.error(
    `\ntest-run: ${stalled.join(', ')}: every test ${stalled.length === 1 ? 'it' : 'they'} registered has reported, but ${stalled.length === 1 ? 'its process has' : 'their processes have'} not ended ${graceS} s later: something opened there (a server, socket, child process or timer) is never closed; close it in an after() hook. Stopping the run.`,
  );
  stopRun(`stalled: ${stalled.join(', ')}`, 'SIGTERM');
  setTimeout(() => stopRun(`stalled: ${stalled.join(', ')}`, 'SIGKILL'), 10_000).unref();
}, 1_000);

const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => {
  child.on('exit', (exitCode, exitSignal) => done([exitCode, exitSignal]));
  child.on('error', (error) => {
    console.error(`test-run: could not run node --test: ${error.message}`);
    done([null, null]);
  });
});
clearInterval(watchdog);
readEvents(true);
if (fd !== undefined) closeSync(fd);
rmSync(folder, { recursive: true, force: true });

const totals = ledger.totals();
const problems = ledger.problems();
const seconds = ((performance.now() - started) / 1000).toFixed(0);
console.log(
  `\n# test-run: ${totals.tests} tests (${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped, ${totals.todo} todo) and ${totals.suites} suites in ${totals.files} files, ${seconds} s`,
);
let failed = false;
if (problems.length > 0) {
  failed = true;
  console.error(
    `\ntest-run: FAILED: ${problems.length} test ${problems.length === 1 ? 'file' : 'files'} did not report every test:\n${problems.map((problem) => `  ${problem}`).join('\n')}`,
  );
}
if (totals.files === 0) {
  failed = true;
  console.error('test-run: FAILED: no test file reported anything');
}
if (stopping !== undefined) {
  failed = true;
  console.error(`test-run: FAILED: the run was ${stopping}`);
}
if (code !== 0) {
  failed = true;
  console.error(`test-run: node --test ${signal === null ? `exited with ${code}` : `was ended by ${signal}`}`);
}
// Not process.exit(): that could cut this process's own output short, as it did the files' reports.
process.exitCode = failed ? (code !== null && code !== 0 ? code : 1) : 0;
