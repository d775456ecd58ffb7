/**
 * One node: every field of its last report, current usage, history charts (CPU, memory, swap, load
 * 1/5/15, I/O wait, root FS, network: whichever the server keeps samples of) over a range that fits
 * the data that exists, its guests and events.
 */
import { api, qs, type FleetEvent, type GuestRow, type Json, type NodeDetail, type Page } from '../api.ts';
import {
  ago,
  badge,
  bar,
  card,
  dot,
  emptyState,
  eventList,
  fact,
  loading,
  onlineBadge,
  segmented,
  usage,
} from '../components.ts';
import { lineChart, type Series } from '../chart.ts';
import { fill, h } from '../dom.ts';
import { bytesAxisMax, fmtBytes, fmtDuration, fmtLoad, fmtPct, niceMax, shortVersion } from '../format.ts';
import type { Mount } from '../view.ts';
import { guestMiniTable } from './guest-table.ts';

export const RANGES: Record<string, number> = {
  '1h': 3600_000,
  '6h': 6 * 3600_000,
  '24h': 86400_000,
  '7d': 7 * 86400_000,
  '30d': 30 * 86400_000,
};
const MAX_SAMPLES = 10_000;

type Sample = Json & { ts: string };
const num = (s: Sample, k: string): number | null => {
  const v = s[k];
  return typeof v === 'number' ? v : null;
};
const has = (samples: readonly Sample[], k: string) => samples.some((s) => typeof s[k] === 'number');
const lastOf = (samples: readonly Sample[], k: string) => {
  for (let i = samples.length - 1; i >= 0; i--) {
    const v = num(samples[i]!, k);
    if (v !== null) return v;
  }
  return null;
};

/**
 * Bytes per second between consecutive samples of a counter since boot (`net_in_bytes`): null at the
 * first sample, where either value is missing, and where the counter went down (a reboot, or a NIC
 * that went away) — a negative or made-up rate would be worse than a gap.
 */
function counterRate(times: readonly number[], values: readonly (number | null)[]): (number | null)[] {
  return values.map((v, i) => {
    const prev = i > 0 ? values[i - 1] : null;
    const dt = i > 0 ? (times[i]! - times[i - 1]!) / 1000 : 0;
    if (v === null || prev === null || prev === undefined || !(dt > 0) || v < prev) return null;
    return (v - prev) / dt;
  });
}

/**
 * The shortest range that holds the node's whole history (up to 30 days), so a fresh install does
 * not open on a day-long chart with its data squeezed against the right edge. One-sample probes ask
 * whether anything is older than each range (the API answers the newest samples of a window).
 */
async function fittingRange(enc: string, to: number): Promise<string> {
  const keys = Object.keys(RANGES);
  for (let i = keys.length - 2; i >= 0; i--) {
    const r = await api<{ data: NodeDetail }>(
      `/api/nodes/${enc}${qs({ from: new Date(to - 2 * RANGES['30d']!).toISOString(), to: new Date(to - RANGES[keys[i]!]!).toISOString(), limit: 1 })}`,
    );
    if (r.data.history.samples.length > 0) return keys[i + 1]!;
  }
  return keys[0]!;
}

/** Report fields shown as facts, in this order; the rest of the report follows in a table. */
const FACTS: [string, string, (v: unknown) => string][] = [
  ['cpu_model', 'CPU model', String],
  ['cpu_sockets', 'Sockets', String],
  ['cpu_cores', 'Cores', String],
  ['cpu_threads', 'Threads', String],
  ['io_wait_ratio', 'I/O wait', (v) => fmtPct(v as number)],
  ['load_avg_5m', 'Load (5 min)', (v) => fmtLoad(v as number)],
  ['load_avg_15m', 'Load (15 min)', (v) => fmtLoad(v as number)],
  ['swap_total_bytes', 'Swap total', (v) => fmtBytes(v as number)],
  ['mem_free_bytes', 'Memory free', (v) => fmtBytes(v as number)],
  ['rootfs_avail_bytes', 'Root FS available', (v) => fmtBytes(v as number)],
  ['interval_seconds', 'Report interval', (v) => fmtDuration(v as number)],
  ['agent_version', 'Agent', String],
];

function reportTable(report: Json): HTMLElement | null {
  const keys = Object.keys(report)
    .filter((k) => report[k] !== null && typeof report[k] !== 'object')
    .sort();
  if (keys.length === 0) return null;
  return h(
    'details',
    { class: 'report' },
    h('summary', null, `Last report: all ${keys.length} fields`),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table kv' },
        h(
          'tbody',
          null,
          keys.map((k) =>
            h('tr', null, h('th', { scope: 'row' }, k), h('td', null, h('code', null, String(report[k])))),
          ),
        ),
      ),
    ),
  );
}

function charts(samples: Sample[], from: number, to: number): HTMLElement[] {
  const times = samples.map((s) => Date.parse(s.ts));
  const col = (k: string) => samples.map((s) => num(s, k));
  const out: HTMLElement[] = [];
  const missing: string[] = [];
  const cpu: Series[] = [{ label: 'busy', values: col('cpu_usage_ratio'), color: 1, area: true }];
  if (has(samples, 'io_wait_ratio')) cpu.push({ label: 'I/O wait', values: col('io_wait_ratio'), color: 3 });
  else missing.push('I/O wait');
  const now = (k: string, f: (v: number) => string) => {
    const v = lastOf(samples, k);
    return v === null ? '' : f(v);
  };
  out.push(
    lineChart({
      title: 'CPU',
      times,
      series: cpu,
      yMax: Math.max(1, ...col('cpu_usage_ratio').map((v) => v ?? 0)),
      fmt: fmtPct,
      current: now('cpu_usage_ratio', fmtPct),
      from,
      to,
    }),
  );
  const bytesChart = (title: string, used: string, total: string) => {
    const totals = col(total).filter((v): v is number => v !== null);
    const series: Series[] = [{ label: 'used', values: col(used), color: 2, area: true }];
    if (totals.length) series.push({ label: 'total', values: col(total), color: 1, dash: true });
    const top = bytesAxisMax(
      col(used).filter((v): v is number => v !== null),
      totals.length ? Math.max(...totals) : null,
    );
    const u = lastOf(samples, used);
    const t = lastOf(samples, total);
    out.push(
      lineChart({
        title,
        times,
        series,
        yMax: top,
        fmt: fmtBytes,
        current: u === null ? '' : t ? `${fmtBytes(u)} of ${fmtBytes(t)}` : fmtBytes(u),
        from,
        to,
      }),
    );
  };
  bytesChart('Memory', 'mem_used_bytes', 'mem_total_bytes');
  if (has(samples, 'swap_used_bytes')) bytesChart('Swap', 'swap_used_bytes', 'swap_total_bytes');
  else missing.push('swap');
  const load: Series[] = [{ label: '1 min', values: col('load_avg_1m'), color: 3, area: true }];
  if (has(samples, 'load_avg_5m')) load.push({ label: '5 min', values: col('load_avg_5m'), color: 1 });
  if (has(samples, 'load_avg_15m')) load.push({ label: '15 min', values: col('load_avg_15m'), color: 2 });
  if (load.length === 1) missing.push('load 5/15 min');
  out.push(
    lineChart({
      title: 'Load',
      times,
      series: load,
      yMax: niceMax(Math.max(1, ...load.flatMap((s) => s.values.map((v) => v ?? 0)))),
      fmt: (v) => (v >= 10 ? String(Math.round(v)) : v.toFixed(1)),
      current: now('load_avg_1m', fmtLoad),
      from,
      to,
    }),
  );
  bytesChart('Root FS', 'rootfs_used_bytes', 'rootfs_total_bytes');
  if (has(samples, 'net_in_bytes')) {
    // the samples carry counters since boot (the physical NICs'): the chart shows their rate
    const rin = counterRate(times, col('net_in_bytes'));
    const rout = counterRate(times, col('net_out_bytes'));
    const last = (r: (number | null)[]) => {
      for (let i = r.length - 1; i >= 0; i--) if (r[i] !== null) return r[i]!;
      return null;
    };
    const li = last(rin);
    const lo = last(rout);
    const perS = (v: number) => `${fmtBytes(v)}/s`;
    out.push(
      lineChart({
        title: 'Network',
        times,
        series: [
          { label: 'in', values: rin, color: 1, area: true },
          { label: 'out', values: rout, color: 2 },
        ],
        yMax: bytesAxisMax(
          [...rin, ...rout].filter((v): v is number => v !== null),
          null,
        ),
        fmt: perS,
        current: li === null || lo === null ? '' : `in ${perS(li)} · out ${perS(lo)}`,
        from,
        to,
      }),
    );
  } else missing.push('network');
  if (missing.length)
    out.push(
      h(
        'p',
        { class: 'muted small charts-note' },
        `This server keeps no history of ${missing.join(', ')} for nodes; the current values are above.`,
      ),
    );
  return out;
}

export const node: Mount = (root, ctx, params, id) => {
  const enc = encodeURIComponent(id);
  const asked = params.get('range');
  let range: string | null = asked && asked in RANGES ? asked : ctx.prefs.range;
  const head = h('div', null, loading());
  const chartBox = h('div', { class: 'charts' });
  const guests = h('div');
  const events = h('div');
  let picker: HTMLElement = h('div');
  const historyCard = card('History', picker, chartBox);
  root.append(
    h('a', { href: '#/', class: 'back' }, '← Overview'),
    head,
    historyCard,
    card('Guests on this node', null, guests),
    card('Events', null, events),
  );
  const makePicker = (current: string) => {
    const p = segmented(
      'time range',
      Object.keys(RANGES).map((k) => [k, k]),
      current,
      'range',
      (v) => {
        range = v;
        ctx.prefs.range = v;
        view.refresh().catch(ctx.fail);
      },
    );
    picker.replaceWith(p);
    picker = p;
  };
  const view = {
    async refresh() {
      const to = Date.now();
      if (range === null) range = await fittingRange(enc, to);
      if (!picker.classList.contains('segmented')) makePicker(range);
      const from = to - RANGES[range]!;
      const [n, g, ev] = await Promise.all([
        api<{ data: NodeDetail }>(
          `/api/nodes/${enc}${qs({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), limit: MAX_SAMPLES })}`,
        ),
        api<Page<GuestRow>>(`/api/guests${qs({ node: id, limit: 1000, usage: 1 })}`),
        api<Page<FleetEvent>>(`/api/events${qs({ node: id, limit: 20 })}`),
      ]);
      const nd = n.data;
      const report = nd.report ?? {};
      const samples = (nd.history.samples as Sample[]).slice().sort((a, b) => a.ts.localeCompare(b.ts));
      const rv = (k: string) => report[k];
      fill(
        head,
        h(
          'section',
          { class: 'card node-head' },
          h(
            'div',
            { class: 'card-head' },
            h('h2', null, dot(nd.online), nd.name),
            h(
              'div',
              { class: 'card-extra' },
              onlineBadge(nd.online),
              nd.state && nd.state !== 'online' && nd.state !== 'offline'
                ? badge(nd.state, 'badge-warn')
                : null,
              h(
                'a',
                { class: 'badge badge-muted', href: `#/cluster/${encodeURIComponent(nd.cluster_id)}` },
                nd.cluster_name,
              ),
              nd.pve_version
                ? badge(`PVE ${shortVersion(nd.pve_version)}`, 'badge-muted', nd.pve_version)
                : null,
            ),
          ),
          h(
            'dl',
            { class: 'facts' },
            fact('IP', nd.ip ?? '–'),
            fact('Kernel', nd.kernel_version ?? '–'),
            fact('Uptime', fmtDuration(nd.uptime_seconds)),
            fact('Load (1 min)', fmtLoad(nd.load_avg_1m)),
            FACTS.filter(([k]) => rv(k) !== undefined && rv(k) !== null).map(([k, label, f]) =>
              fact(label, f(rv(k))),
            ),
            fact('Last report', nd.last_report ? ago(nd.last_report) : 'no agent'),
            fact('First seen', ago(nd.first_seen)),
          ),
          h(
            'div',
            { class: 'meters' },
            h('div', null, h('span', { class: 'muted small' }, 'CPU'), bar(nd.cpu_usage_ratio)),
            h(
              'div',
              null,
              h('span', { class: 'muted small' }, 'Memory'),
              usage(nd.mem_used_bytes, nd.mem_total_bytes),
            ),
            h(
              'div',
              null,
              h('span', { class: 'muted small' }, 'Swap'),
              usage(
                rv('swap_used_bytes') as number | undefined,
                rv('swap_total_bytes') as number | undefined,
              ),
            ),
            h(
              'div',
              null,
              h('span', { class: 'muted small' }, 'Root FS'),
              usage(nd.rootfs_used_bytes, nd.rootfs_total_bytes),
            ),
          ),
          reportTable(report),
        ),
      );
      chartBox.dataset['range'] = range;
      fill(chartBox, charts(samples, from, to));
      fill(guests, g.data.length ? guestMiniTable(g.data) : emptyState('No guests on this node.'));
      fill(events, eventList(ev.data));
    },
  };
  return { ...view, wants: (c) => c.nodes.includes(id) || c.guests > 0 };
};
