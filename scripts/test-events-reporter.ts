// A `node --test` reporter (Node's documented reporter API: an async generator over the run's
// events) that records, one JSON line each, the events `scripts/test-ledger.ts` checks: which tests
// each file registered, their results, each file's final summary and each file's end.
// `scripts/test-run.ts` gives it a file with --test-reporter-destination, beside the spec reporter.
import { resolve } from 'node:path';
import type { LedgerEvent } from './test-ledger.ts';

const RECORDED = new Set(['test:enqueue', 'test:dequeue', 'test:pass', 'test:fail', 'test:complete', 'test:summary']);

interface ReporterEvent {
  type: string;
  data?: {
    file?: string;
    entryFile?: string;
    name?: string;
    nesting?: number;
    line?: number;
    column?: number;
    skip?: unknown;
    todo?: unknown;
    details?: { type?: string; passed?: boolean };
  };
}

export default async function* recordEvents(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string> {
  for await (const { type, data } of source) {
    if (!RECORDED.has(type) || data === undefined) continue;
    // A test defined in a helper module has that module as its file; entryFile is the test file.
    const file = data.entryFile ?? data.file;
    if (file === undefined) continue;
    const event: LedgerEvent = { type, file };
    if (data.name !== undefined) event.name = data.name;
    if (data.nesting !== undefined) event.nesting = data.nesting;
    if (data.line !== undefined) event.line = data.line;
    if (data.column !== undefined) event.column = data.column;
    // The runner's wrapper of a file's process: named by the file's path, with no entryFile.
    if (
      data.entryFile === undefined &&
      data.nesting === 0 &&
      data.name !== undefined &&
      resolve(data.name) === data.file &&
      type !== 'test:summary'
    ) {
      event.isFile = true;
    }
    if (type === 'test:pass' || type === 'test:fail') {
      event.kind = data.details?.type;
      if (data.skip !== undefined) event.skip = true;
      if (data.todo !== undefined) event.todo = true;
    }
    if (type === 'test:complete') event.passed = data.details?.passed;
    yield `${JSON.stringify(event)}\n`;
  }
}
