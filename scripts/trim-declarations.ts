// After tsup: drops the `@example` blocks from the shipped declarations (dist/*.d.ts). The
// examples stay in the sources and in the API reference (`npm run docs`); an editor's hover keeps
// each summary and its tags. Without them the package unpacks within its 300 KB budget.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dist = resolve(import.meta.dirname, '..', 'dist');
const EXAMPLE_TAG = /^\s*\* @example\b/;
/** The end of an example: the comment's end or the next tag. */
const EXAMPLE_END = /^\s*(\*\/|\* @\w)/;

export function withoutExamples(declarations: string): string {
  const kept: string[] = [];
  let inExample = false;
  for (const line of declarations.split('\n')) {
    if (EXAMPLE_TAG.test(line)) inExample = true;
    else if (inExample && EXAMPLE_END.test(line)) inExample = false;
    if (inExample) continue;
    // The blank comment line that stood before the example goes with it.
    if (/^\s*\*\/$/.test(line) && /^\s*\*$/.test(kept.at(-1) ?? '')) kept.pop();
    kept.push(line);
  }
  return kept.join('\n');
}

if (import.meta.main) {
  for (const name of readdirSync(dist).filter((file) => file.endsWith('.d.ts'))) {
    const path = join(dist, name);
    writeFileSync(path, withoutExamples(readFileSync(path, 'utf8')));
  }
}
