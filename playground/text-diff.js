// A line diff of two values (JSON pretty-printed first, so a change shows on its own line).
import { strictText } from './dom.js';

const MAX_CELLS = 4_000_000; // lines(a) x lines(b) beyond which the diff is whole blocks

/** The value as text to diff: pretty JSON, plain UTF-8, or `binary`. */
export function printable(bytes) {
  const text = strictText(bytes);
  if (text === undefined) return { binary: true, text: '' };
  try {
    return { binary: false, text: JSON.stringify(JSON.parse(text), null, 2) };
  } catch {
    return { binary: false, text };
  }
}

/** `[kind, line]` pairs: ' ' unchanged, '-' only in `before`, '+' only in `after` (longest common subsequence). */
export function diffLines(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > MAX_CELLS) return [...a.map((l) => ['-', l]), ...b.map((l) => ['+', l])];
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push([' ', a[i]]);
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(['-', a[i++]]);
    else out.push(['+', b[j++]]);
  }
  while (i < n) out.push(['-', a[i++]]);
  while (j < m) out.push(['+', b[j++]]);
  return out;
}
