// The ledger of a `node --test` run: which tests each test file registered, which of them reported
// a result, and whether the file's own process reported to its end. `scripts/test-run.ts` keeps it
// from the events `scripts/test-events-reporter.ts` records, and fails the run when a file's report
// was cut short: a test that registered (test:enqueue) but never said pass or fail, a file whose
// process ended without its final test:summary, or a file that never ended. Node's runner itself
// counts such a file as passed when its process exits with 0 (with --test-force-exit, a process
// that exits while its report still sits in its stdout buffer does exactly that).

/** One recorded reporter event, as `test-events-reporter.ts` writes it (one JSON object a line). */
export interface LedgerEvent {
  type: string;
  /** The test file the event belongs to (the file the run was given, not a helper that called test()). */
  file?: string;
  name?: string;
  nesting?: number;
  line?: number;
  column?: number;
  /** The event is about the test file itself (the runner's wrapper of the file's process). */
  isFile?: boolean;
  /** test:pass / test:fail: 'suite' for describe(), 'test' otherwise. */
  kind?: string;
  skip?: boolean;
  todo?: boolean;
  /** test:complete of a file: whether its process passed. */
  passed?: boolean;
}

interface Registered {
  name: string;
  line: number | undefined;
  /** Registrations still waiting for a result (a loop can register one name at one place twice). */
  outstanding: number;
}

interface FileState {
  /** The name the runner gave the file (its path as given, relative to the working folder). */
  name: string;
  started: boolean;
  ended: boolean;
  passed: boolean | undefined;
  /** The file's process sent its final test:summary: its report reached its end. */
  summarized: boolean;
  tests: Map<string, Registered>;
  registered: number;
  results: number;
  lastEventAt: number;
}

export interface Totals {
  files: number;
  tests: number;
  suites: number;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
}

const MAX_LISTED = 25;

function keyOf(event: LedgerEvent): string {
  return `${event.nesting}\u0000${event.line}:${event.column}\u0000${event.name}`;
}

export class TestLedger {
  readonly #files = new Map<string, FileState>();
  readonly #totals: Totals = { files: 0, tests: 0, suites: 0, passed: 0, failed: 0, skipped: 0, todo: 0 };

  #state(file: string, event: LedgerEvent): FileState {
    let state = this.#files.get(file);
    if (state === undefined) {
      state = {
        name: event.isFile === true && event.name !== undefined ? event.name : file,
        started: false,
        ended: false,
        passed: undefined,
        summarized: false,
        tests: new Map(),
        registered: 0,
        results: 0,
        lastEventAt: 0,
      };
      this.#files.set(file, state);
    }
    return state;
  }

  add(event: LedgerEvent, now = Date.now()): void {
    if (event.file === undefined) return;
    const state = this.#state(event.file, event);
    state.lastEventAt = now;
    if (event.isFile === true) {
      if (event.name !== undefined) state.name = event.name;
      if (event.type === 'test:dequeue' || event.type === 'test:start') state.started = true;
      if (event.type === 'test:complete') {
        state.ended = true;
        state.passed = event.passed;
      }
      // The runner reports the file itself as a test when its process reported none, or failed
      // without a failing test (a crash, a non-zero exit): counted as Node's own summary counts it.
      if (event.type === 'test:pass' || event.type === 'test:fail') this.#count(event);
      return;
    }
    switch (event.type) {
      case 'test:enqueue': {
        const key = keyOf(event);
        const known = state.tests.get(key);
        if (known === undefined) state.tests.set(key, { name: event.name ?? '', line: event.line, outstanding: 1 });
        else known.outstanding++;
        state.registered++;
        break;
      }
      case 'test:pass':
      case 'test:fail': {
        const known = state.tests.get(keyOf(event));
        if (known !== undefined && known.outstanding > 0) known.outstanding--;
        state.results++;
        this.#count(event);
        break;
      }
      case 'test:summary':
        state.summarized = true;
        break;
    }
  }

  #count(event: LedgerEvent): void {
    if (event.kind === 'suite') {
      this.#totals.suites++;
      return;
    }
    this.#totals.tests++;
    if (event.skip === true) this.#totals.skipped++;
    else if (event.todo === true) this.#totals.todo++;
    else if (event.type === 'test:pass') this.#totals.passed++;
    else this.#totals.failed++;
  }

  totals(): Totals {
    return { ...this.#totals, files: this.#files.size };
  }

  /** Registered tests of a file that reported no result yet, in the order they registered. */
  #missing(state: FileState): string[] {
    const missing: string[] = [];
    for (const test of state.tests.values()) {
      for (let i = 0; i < test.outstanding; i++) {
        missing.push(`${JSON.stringify(test.name)}${test.line === undefined ? '' : ` (line ${test.line})`}`);
      }
    }
    return missing;
  }

  /**
   * Everything wrong with the run once it is over, one message per file, naming the file and the
   * tests that never reported. Empty when every file ended, reported its summary, and every test
   * it registered reported pass, fail, skip or todo.
   */
  problems(): string[] {
    const problems: string[] = [];
    for (const state of this.#files.values()) {
      const reasons: string[] = [];
      if (!state.ended) reasons.push('it never finished (the run was stopped before this file ended)');
      else if (!state.summarized) {
        reasons.push(
          `its process ended (${state.passed === false ? 'failed' : 'with exit code 0'}) before its report reached its final test:summary: the end of its report was lost`,
        );
      }
      const missing = this.#missing(state);
      if (missing.length > 0) {
        const listed = missing.slice(0, MAX_LISTED).map((name) => `\n    - ${name}`);
        const more = missing.length > MAX_LISTED ? `\n    - and ${missing.length - MAX_LISTED} more` : '';
        reasons.push(
          `${missing.length} of the ${state.registered} tests and suites it registered never reported a result:${listed.join('')}${more}`,
        );
      }
      if (reasons.length > 0) problems.push(`${state.name}: ${reasons.join('; ')}`);
    }
    return problems;
  }

  /**
   * Files whose process is still running although every test it registered has reported a result,
   * and nothing has come from it for `graceMs`: something it opened (a server, socket, child
   * process or timer) keeps it alive, and without a watchdog the run would never end.
   */
  stalled(now: number, graceMs: number): string[] {
    const stalled: string[] = [];
    for (const state of this.#files.values()) {
      if (!state.started || state.ended || state.results === 0) continue;
      if (this.#missing(state).length > 0) continue;
      if (now - state.lastEventAt >= graceMs) stalled.push(state.name);
    }
    return stalled;
  }
}

/** Parses the recorder's output (JSON lines) into events; a line cut short at the end is ignored. */
export function parseEvents(text: string): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as LedgerEvent);
    } catch {
      // Only the last line can be partial (the recorder writes whole lines).
    }
  }
  return events;
}
