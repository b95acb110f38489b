// Drops the `@example` blocks from the shipped declarations (dist/**/*.d.ts; run by scripts/build.ts).
// The examples stay in the sources and in the API reference (`npm run docs`); an editor's hover keeps
// each summary and its tags.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** Rewrites every declaration file under `folder` without its examples. */
export function trimDeclarations(folder: string): void {
  for (const name of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.d.ts')) continue;
    const path = join(folder, name);
    writeFileSync(path, withoutExamples(readFileSync(path, 'utf8')));
  }
}
