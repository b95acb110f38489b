// The metrics panel: etcd's /metrics read every 2 s while the panel is on screen, as small live
// charts: database size against its quota, leader changes, proposals committed / applied per
// second and failed, watchers, slow applies. It reads the connected etcd's /metrics directly when
// that etcd is not the playground's own; for the playground's own it goes through the playground
// server's /etcd-metrics (an answer any etcd gives, whatever its --cors).
import { session } from './connection.js';
import { $, el, formatSize, note } from './dom.js';
import { parseMetrics } from './prometheus.js';
import { sparkline } from './sparkline.js';

const EVERY = 2_000;
const KEEP = 60;
const count = (n) => Math.round(n).toLocaleString('en');
const rate = (n) => `${n.toFixed(n < 10 ? 1 : 0)}/s`;

/** Each chart: which metric (the first name present), and whether it shows the value or its rate per second. */
const CHARTS = [
  {
    id: 'db-size',
    title: 'Database size',
    names: ['etcd_mvcc_db_total_size_in_bytes', 'etcd_debugging_mvcc_db_total_size_in_bytes'],
    show: formatSize,
  },
  { id: 'leader-changes', title: 'Leader changes', names: ['etcd_server_leader_changes_seen_total'], show: count },
  {
    id: 'proposals-committed',
    title: 'Proposals committed',
    names: ['etcd_server_proposals_committed_total'],
    rate: true,
    show: rate,
  },
  {
    id: 'proposals-applied',
    title: 'Proposals applied',
    names: ['etcd_server_proposals_applied_total'],
    rate: true,
    show: rate,
  },
  { id: 'proposals-failed', title: 'Proposals failed', names: ['etcd_server_proposals_failed_total'], show: count },
  { id: 'watchers', title: 'Watchers', names: ['etcd_debugging_mvcc_watcher_total'], show: count },
  { id: 'slow-applies', title: 'Slow applies', names: ['etcd_server_slow_apply_total'], show: count },
];

let samples = []; // { at, values }
let timer;
let reading; // the AbortController of the read in flight: pausing or reconnecting aborts it, and its answer is dropped
let source;
let visible = false;
let paused = false;
let config; // the playground server's /config.json

const metricOf = (values, chart) => values[chart.names.find((name) => name in values)];

/** Each chart's series: the values, or the rates between samples. */
function series(chart) {
  const out = [];
  for (let i = 0; i < samples.length; i++) {
    const value = metricOf(samples[i].values, chart);
    if (value === undefined) continue;
    if (!chart.rate) out.push(value);
    else if (i > 0) {
      const before = metricOf(samples[i - 1].values, chart);
      if (before !== undefined) out.push(Math.max(0, value - before) / ((samples[i].at - samples[i - 1].at) / 1_000));
    }
  }
  return out;
}

function render() {
  const last = samples.at(-1)?.values ?? {};
  $('#metrics-list').replaceChildren(
    ...CHARTS.map((chart) => {
      const values = series(chart);
      const now = values.at(-1);
      const text = now === undefined ? (metricOf(last, chart) === undefined ? 'not reported' : '…') : chart.show(now);
      const extra = [];
      if (chart.id === 'db-size' && last.etcd_server_quota_backend_bytes && now !== undefined) {
        const quota = last.etcd_server_quota_backend_bytes;
        extra.push(
          el('span', {
            className: 'quota',
            textContent: ` of ${formatSize(quota)} quota (${((now / quota) * 100).toFixed(2)} %)`,
          }),
          el('meter', {
            min: 0,
            max: quota,
            value: now,
            high: quota * 0.8,
            ariaLabel: 'database size against its quota',
          }),
        );
      }
      const label = `${chart.title}: ${values.length} samples${values.length ? `, from ${chart.show(Math.min(...values))} to ${chart.show(Math.max(...values))}` : ''}`;
      return el(
        'li',
        { dataset: { metric: chart.id, value: now === undefined ? '' : String(now), samples: String(values.length) } },
        el('span', { className: 'name', textContent: chart.title }),
        el('span', { className: 'value' }, el('strong', { textContent: text }), ...extra),
        sparkline(values.slice(-KEEP), label),
      );
    }),
  );
}

async function sample() {
  if (!session.etcd || !source || reading) return;
  const controller = new AbortController();
  reading = controller;
  try {
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(5_000)]);
    const response = await fetch(source, { signal, cache: 'no-store' });
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    const values = parseMetrics(await response.text());
    if (controller.signal.aborted) return;
    samples.push({ at: performance.now(), values });
    if (samples.length > KEEP + 1) samples = samples.slice(-KEEP - 1);
    $('#metrics-panel').dataset.samples = String(samples.length);
    note(
      $('#metrics-message'),
      `${source.startsWith('/') ? 'through the playground server' : `from ${source}`}, every ${EVERY / 1_000} s`,
    );
    render();
  } catch (error) {
    if (!controller.signal.aborted)
      note($('#metrics-message'), `could not read ${source}: ${error?.message ?? error}`, 'error');
  } finally {
    if (reading === controller) reading = undefined;
  }
}

function stopReading() {
  reading?.abort();
  reading = undefined;
}

/** Polls while connected, on screen, not paused, and the page is shown. */
function schedule() {
  const run = session.etcd && visible && !paused && !document.hidden;
  if (run && !timer) {
    void sample();
    timer = setInterval(() => void sample(), EVERY);
  } else if (!run && timer) {
    clearInterval(timer);
    timer = undefined;
    stopReading();
  }
}

export function initMetricsPanel() {
  config = fetch('/config.json')
    .then((r) => r.json())
    .catch(() => ({}));
  session.addEventListener('connected', async () => {
    stopReading();
    samples = [];
    source = undefined; // no read of the previous etcd's metrics until this one's source is known
    const endpoint = session.endpoints[0] ?? '';
    const own = (await config).endpoints?.includes(endpoint) ?? true;
    try {
      source = own ? '/etcd-metrics' : new URL('/metrics', endpoint).href;
    } catch {
      source = undefined;
    }
    render();
    clearInterval(timer);
    timer = undefined;
    schedule();
  });
  new IntersectionObserver((entries) => {
    visible = entries.some((e) => e.isIntersecting);
    schedule();
  }).observe($('#metrics-panel'));
  document.addEventListener('visibilitychange', schedule);
  $('#metrics-pause').addEventListener('click', () => {
    paused = !paused;
    $('#metrics-pause').setAttribute('aria-pressed', String(paused));
    $('#metrics-pause').textContent = paused ? 'resume' : 'pause';
    schedule();
  });
  render();
}
