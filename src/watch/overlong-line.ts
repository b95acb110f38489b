/**
 * How every watch answer of etcd's gateway begins: the header (flat, no nested object), then the
 * watcher's id. A line too long to read whole is still known by it.
 */
const RESULT_START = /^\s*\{\s*"result"\s*:\s*\{\s*"header"\s*:\s*\{[^{}]*\}\s*,\s*"watch_id"\s*:\s*"(\d+)"/;
/** Far more than a header and an id take. */
const LOOK_AT = 4_096;

/** The watch id an answer's line starts with, or undefined when it does not start as one does. */
export function watchIdAtStart(line: string): number | undefined {
  const match = RESULT_START.exec(line.slice(0, LOOK_AT));
  if (match === null) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
