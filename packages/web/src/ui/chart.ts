/**
 * Time-series charts on uPlot (MIT, ~50 KB minified): canvas drawing that stays fast at 100,000
 * points, drag to zoom on the time axis (double-click resets), and a live legend that reads the
 * values under the cursor. Times on the axis and in the legend use the page's Intl formats.
 */
import uPlot from 'uplot';
import { h } from './dom.ts';
import { fmtTime, niceMax, timeFmt } from './format.ts';

export interface Series {
  label: string;
  /** one value per time; null for none */
  values: readonly (number | null)[];
  /** palette slot 1..3 (CSS --s1…--s3) */
  color: 1 | 2 | 3;
  area?: boolean;
  dash?: boolean;
}

export interface ChartSpec {
  title: string;
  /** ms since the epoch, ascending */
  times: readonly number[];
  series: Series[];
  /** the axis top; null: niceMax of the data */
  yMax: number | null;
  fmt: (v: number) => string;
  /** text beside the title (the current value) */
  current: string;
  /** the time window shown */
  from: number;
  to: number;
}

const HEIGHT = 190;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * A pause longer than three typical intervals (the agent was silent) becomes a gap: uPlot breaks a
 * line at a null, so one null point goes in the middle of each long pause.
 */
export function withGaps(times: readonly number[], series: readonly (readonly (number | null)[])[]) {
  const steps: number[] = [];
  for (let i = 1; i < times.length; i++) steps.push(times[i]! - times[i - 1]!);
  steps.sort((a, b) => a - b);
  const typical = steps.length ? steps[Math.floor(steps.length / 2)]! : 0;
  const limit = Math.max(typical * 3, 90_000);
  const xs: number[] = [];
  const ys: (number | null)[][] = series.map(() => []);
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    if (i > 0 && t - times[i - 1]! > limit) {
      xs.push((t + times[i - 1]!) / 2);
      for (const y of ys) y.push(null);
    }
    xs.push(t);
    series.forEach((s, k) => ys[k]!.push(s[i] ?? null));
  }
  return { xs, ys };
}

export function lineChart(spec: ChartSpec): HTMLElement {
  const { xs, ys } = withGaps(
    spec.times,
    spec.series.map((s) => s.values),
  );
  const points = spec.series[0]?.values.filter((v) => v !== null).length ?? 0;
  const dataMax = Math.max(0, ...ys.flat().filter((v): v is number => v !== null));
  const yMax = spec.yMax ?? niceMax(dataMax);
  const plot = h('div', { class: 'plot', role: 'img', 'aria-label': `${spec.title} chart` });
  const fig = h(
    'figure',
    {
      class: 'chart-card',
      'data-chart': spec.title,
      'data-points': String(points),
      'data-y-max': String(yMax),
    },
    h(
      'figcaption',
      null,
      h('span', { class: 'chart-title' }, spec.title),
      h('span', { class: 'chart-now' }, spec.current),
    ),
    points === 0 ? h('p', { class: 'chart-empty muted' }, 'No samples in this range.') : null,
    plot,
  );
  const axis = {
    stroke: cssVar('--muted'),
    grid: { stroke: cssVar('--line'), width: 1 },
    ticks: { show: false },
  };
  const opts: uPlot.Options = {
    width: 600,
    height: HEIGHT,
    scales: {
      x: { time: true, range: () => [spec.from / 1000, spec.to / 1000] },
      y: { range: () => [0, yMax] },
    },
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    series: [
      { value: (_u, v) => (v === null ? '–' : fmtTime(v * 1000)) },
      ...spec.series.map((s) => {
        const stroke = cssVar(`--s${s.color}`);
        return {
          label: s.label,
          stroke,
          width: 1.5,
          ...(s.area ? { fill: `${stroke}22` } : {}),
          ...(s.dash ? { dash: [4, 4] } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : spec.fmt(v)),
          points: { show: false },
        };
      }),
    ],
    axes: [
      {
        ...axis,
        values: (_u, splits) =>
          splits.map((s) =>
            spec.to - spec.from > 2 * 86400_000
              ? new Date(s * 1000).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' })
              : timeFmt.format(new Date(s * 1000)),
          ),
      },
      {
        ...axis,
        size: 64,
        splits: () => [0, yMax / 4, yMax / 2, (3 * yMax) / 4, yMax],
        values: (_u, splits) => splits.map((v) => spec.fmt(v)),
      },
    ],
  };
  const data: uPlot.AlignedData = [xs.map((t) => t / 1000), ...ys];
  // Drawn once the figure is in the page (uPlot measures its legend); sized to its box.
  requestAnimationFrame(() => {
    if (!plot.isConnected) return;
    const u = new uPlot({ ...opts, width: Math.max(280, plot.clientWidth) }, data, plot);
    fig.dataset['drawn'] = 'true';
    const ro = new ResizeObserver(() => {
      if (!plot.isConnected) return ro.disconnect();
      const w = Math.max(280, plot.clientWidth);
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: HEIGHT });
    });
    ro.observe(plot);
  });
  return fig;
}
