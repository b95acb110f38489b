// A sparkline as inline SVG: one polyline over the samples, scaled to their own range, with the
// last point marked. Hand-written (about 40 lines) rather than a chart library: six small live
// lines need no axes, zoom or legends, and the smallest well-kept library (uPlot) would add
// about 50 KB to a page whose own scripts are smaller than that.
const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 160;
const HEIGHT = 32;

/** An `<svg role="img">` of `values` (numbers), named by `label`. */
export function sparkline(values, label) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('width', String(WIDTH));
  svg.setAttribute('height', String(HEIGHT));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.classList.add('spark');
  if (values.length === 0) return svg;
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  const step = values.length > 1 ? (WIDTH - 4) / (values.length - 1) : 0;
  const points = values.map((v, i) => [2 + i * step, HEIGHT - 3 - ((v - low) / span) * (HEIGHT - 6)]);
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('points', points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '1.5');
  const [x, y] = points.at(-1);
  const dot = document.createElementNS(NS, 'circle');
  dot.setAttribute('cx', x.toFixed(1));
  dot.setAttribute('cy', y.toFixed(1));
  dot.setAttribute('r', '2.5');
  dot.setAttribute('fill', 'currentColor');
  svg.append(line, dot);
  return svg;
}
