// Values over 1 MiB: the editor shows their first 256 KiB (text, JSON as text, or a hex dump)
// with a note of the whole size and a button that downloads the whole value; the textarea does
// not take them (an edit of a cut value would write the cut).
import { $, formatSize, hexDump, keyLabel, strictText } from './dom.js';

export const LARGE = 1024 * 1024;
const SHOWN = 256 * 1024;

export const isLarge = (kv) => kv !== undefined && kv.value.length > LARGE;

/** What the view shows of a large value: its first bytes in the view picked (never parsed as JSON). */
export function largeView(bytes, view) {
  if (view === 'hex') return hexDump(bytes);
  const head = bytes.subarray(0, SHOWN);
  // A cut may split a UTF-8 sequence: drop its last few bytes rather than show a replacement.
  for (let cut = 0; cut < 4; cut++) {
    const text = strictText(head.subarray(0, head.length - cut));
    if (text !== undefined) return `${text}\n… (${formatSize(bytes.length - head.length + cut)} more)`;
  }
  return hexDump(bytes);
}

/** Shows or hides the large-value note and its download button for `kv` (undefined: none). */
export function showLargeNotice(key, kv) {
  // A long value scrolls: the keyboard must reach it too (axe: scrollable-region-focusable).
  $('#kv-view').tabIndex = 0;
  const notice = $('#kv-large');
  const large = isLarge(kv);
  notice.hidden = !large;
  $('#kv-value').disabled = large;
  if (!large) return;
  $('#kv-large-text').textContent =
    `This value is ${formatSize(kv.value.length)}: the first ${formatSize(Math.min(SHOWN, kv.value.length))} are shown, and it is not edited here.`;
  $('#kv-download').onclick = () => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([kv.value], { type: 'application/octet-stream' }));
    link.download = `${keyLabel(key).replace(/[^\w.-]+/g, '_')}-rev${kv.modRevision}.bin`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  };
}
