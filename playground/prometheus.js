// Reads Prometheus' text format (etcd's /metrics): each metric's samples summed over their labels.
// Histograms and summaries keep their _sum and _count lines, as any other name.

/** `{ name: value }` from the text, summing every label set of a name. */
export function parseMetrics(text) {
  const values = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    values[match[1]] = (values[match[1]] ?? 0) + value;
  }
  return values;
}
