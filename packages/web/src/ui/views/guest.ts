/**
 * One guest: usage now (from its last report) and over time (when the server keeps guest history),
 * its parsed networks and disks, its configuration, and each configuration change as a diff.
 */
import { api, optional, type ConfigDiff, type GuestDetail } from '../api.ts';
import {
  ago,
  badge,
  bar,
  card,
  emptyState,
  fact,
  loading,
  nodeLink,
  statusBadge,
  table,
  typeBadge,
  usage,
} from '../components.ts';
import { lineChart } from '../chart.ts';
import { fill, h, type Child } from '../dom.ts';
import { bytesAxisMax, fmtBytes, fmtDuration, fmtPct } from '../format.ts';
import type { Mount } from '../view.ts';

const cell = (v: unknown): Child =>
  v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, '–') : String(v as string);
const n = (v: unknown) => (typeof v === 'number' ? v : null);

/** `{added, removed, changed}` as diff lines: `+ key: value`, `- key: value`, `~ key: old → new`. */
function diffLines(d: ConfigDiff): HTMLElement {
  const lines: HTMLElement[] = [];
  for (const [k, v] of Object.entries(d.removed ?? {}))
    lines.push(h('span', { class: 'del' }, `- ${k}: ${String(v)}`));
  for (const [k, v] of Object.entries(d.added ?? {}))
    lines.push(h('span', { class: 'add' }, `+ ${k}: ${String(v)}`));
  for (const [k, [a, b]] of Object.entries(d.changed ?? {}))
    lines.push(
      h('span', { class: 'del' }, `- ${k}: ${String(a)}`),
      h('span', { class: 'add' }, `+ ${k}: ${String(b)}`),
    );
  return lines.length ? h('pre', { class: 'diff' }, lines) : h('span', { class: 'muted' }, 'no key changed');
}

/** a point of GET /api/guests/:id/history (schema GuestHistoryPoint): a raw sample or a bucket */
interface GuestHistoryPoint {
  ts: string;
  n: number;
  cpu_avg: number | null;
  cpu_max: number | null;
  mem_avg: number | null;
  mem_max: number | null;
  disk_avg: number | null;
  disk_max: number | null;
}
interface GuestHistoryAnswer {
  data: { resolution: string; points: GuestHistoryPoint[] };
}

function usageCharts(hist: GuestHistoryAnswer | null, g: GuestDetail): Child {
  if (!hist)
    return h(
      'p',
      { class: 'muted small' },
      'Usage history is not available on this server; the current values are above.',
    );
  const s = hist.data.points.slice().sort((a, b) => a.ts.localeCompare(b.ts));
  if (s.length === 0) return emptyState('No usage samples yet.');
  const times = s.map((x) => Date.parse(x.ts));
  const col = (k: keyof GuestHistoryPoint) => s.map((x) => n(x[k]));
  const from = times[0]!;
  const to = Math.max(Date.now(), times[times.length - 1]!);
  const mem = g.memory_mb === null ? null : g.memory_mb * 1048576;
  return h(
    'div',
    { class: 'charts' },
    lineChart({
      title: 'CPU',
      times,
      series: [
        { label: 'average', values: col('cpu_avg'), color: 1, area: true },
        { label: 'peak', values: col('cpu_max'), color: 3 },
      ],
      yMax: 1,
      fmt: fmtPct,
      current: '',
      from,
      to,
    }),
    lineChart({
      title: 'Memory',
      times,
      series: [{ label: 'used', values: col('mem_avg'), color: 2, area: true }],
      yMax: bytesAxisMax(
        col('mem_max').filter((v): v is number => v !== null),
        mem,
      ),
      fmt: fmtBytes,
      current: '',
      from,
      to,
    }),
  );
}

export const guest: Mount = (root, _ctx, _params, id) => {
  const out = h('div', { class: 'stack' }, loading());
  root.append(h('a', { href: '#/guests', class: 'back' }, '← Guests'), out);
  const enc = encodeURIComponent(id);
  return {
    wants: (c) => c.guests > 0,
    async refresh() {
      const [r, hist] = await Promise.all([
        api<{ data: GuestDetail }>(`/api/guests/${enc}`),
        optional<GuestHistoryAnswer>(`/api/guests/${enc}/history`),
      ]);
      const g = r.data;
      const cfg = g.config;
      const rep = g.report;
      const mem = g.memory_mb === null ? null : g.memory_mb * 1048576;
      const nets = g.networks.map((x) =>
        h(
          'tr',
          null,
          h('td', null, String(x['key'])),
          h('td', null, cell(x['name'] ?? x['model'])),
          h('td', null, h('code', null, cell(x['hwaddr']))),
          h('td', null, cell(x['bridge'])),
          h('td', null, cell([x['ip'], x['ip6']].filter(Boolean).join(' · '))),
          h('td', null, cell([x['gw'], x['gw6']].filter(Boolean).join(' · '))),
          h('td', { class: 'num' }, cell(x['vlan_tag'])),
          h('td', null, cell(x['firewall'] === true ? 'yes' : x['firewall'] === false ? 'no' : null)),
        ),
      );
      const disks = g.disks.map((d) =>
        h(
          'tr',
          null,
          h('td', null, String(d['key'])),
          h('td', null, cell(d['storage'])),
          h('td', null, h('code', null, cell(d['volume']))),
          h('td', { class: 'num' }, n(d['size_bytes']) === null ? cell(null) : fmtBytes(n(d['size_bytes']))),
          h('td', null, cell(d['mount_path'] ?? d['media'])),
        ),
      );
      const cfgRows = Object.keys(cfg)
        .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
        .map((k) =>
          h(
            'tr',
            null,
            h('th', { scope: 'row' }, k),
            h('td', null, h('code', null, String(cfg[k] as string))),
          ),
        );
      const changes = [
        ...g.status_changes.map((c) => ({
          ts: c.ts,
          body: h(
            'span',
            null,
            c.from_status ? `status ${c.from_status} → ${c.to_status}` : `first reported ${c.to_status}`,
          ) as HTMLElement,
        })),
        ...g.config_versions.map((v) => ({
          ts: v.ts,
          body: v.diff ? diffLines(v.diff) : h('span', null, 'configuration first recorded'),
        })),
      ].sort((a, b) => b.ts.localeCompare(a.ts));
      fill(
        out,
        h(
          'section',
          { class: 'card' },
          h(
            'div',
            { class: 'card-head' },
            h('h2', null, g.name ?? `VMID ${g.vmid}`),
            h(
              'div',
              { class: 'card-extra' },
              typeBadge(g.type),
              statusBadge(g.status),
              g.template ? badge('template', 'badge-muted') : null,
              g.gone ? badge('gone', 'badge-crit') : null,
            ),
          ),
          h(
            'dl',
            { class: 'facts' },
            fact('VMID', String(g.vmid)),
            fact('Node', nodeLink(g.node_id, g.node)),
            fact(
              'Cluster',
              h('a', { href: `#/cluster/${encodeURIComponent(g.cluster_id)}` }, g.cluster_name),
            ),
            fact('Cores', g.cpu_cores === null ? '–' : String(g.cpu_cores)),
            fact('Memory', fmtBytes(mem)),
            fact('Uptime', g.status === 'running' ? fmtDuration(g.uptime_seconds) : '–'),
            fact('OS type', cfg['ostype'] ? String(cfg['ostype'] as string) : '–'),
            fact('Tags', g.tags.length ? g.tags.map((t) => h('span', { class: 'tag' }, t)) : '–'),
            fact('Last report', ago(g.last_seen)),
            fact('First seen', ago(g.first_seen)),
          ),
          h(
            'div',
            { class: 'meters' },
            h('div', null, h('span', { class: 'muted small' }, 'CPU'), bar(n(rep['cpu_usage_ratio']))),
            h(
              'div',
              null,
              h('span', { class: 'muted small' }, 'Memory'),
              usage(n(rep['mem_used_bytes']), mem),
            ),
            h(
              'div',
              null,
              h('span', { class: 'muted small' }, 'Disk'),
              usage(n(rep['disk_used_bytes']), n(rep['disk_total_bytes']) ?? n(rep['maxdisk'])),
            ),
          ),
        ),
        card('Usage', null, usageCharts(hist, g)),
        card(
          'Network',
          null,
          nets.length
            ? table(
                [
                  'Key',
                  'Name / model',
                  'MAC',
                  'Bridge',
                  'IP',
                  'Gateway',
                  { label: 'VLAN', cls: 'num' },
                  'Firewall',
                ],
                nets,
                'nets',
              )
            : emptyState('No network interfaces.'),
        ),
        card(
          'Disks',
          null,
          disks.length
            ? table(
                ['Key', 'Storage', 'Volume', { label: 'Size', cls: 'num' }, 'Mount / media'],
                disks,
                'disks',
              )
            : emptyState('No disks.'),
        ),
        h(
          'div',
          { class: 'grid-2' },
          card(
            'Configuration',
            h('span', { class: 'muted small' }, `${cfgRows.length} keys`),
            cfgRows.length
              ? h(
                  'div',
                  { class: 'table-wrap' },
                  h('table', { class: 'table kv' }, h('tbody', null, cfgRows)),
                )
              : emptyState('The agent sent no configuration.'),
          ),
          card(
            'Changes',
            null,
            changes.length
              ? h(
                  'ol',
                  { class: 'timeline changes' },
                  changes.map((x) =>
                    h(
                      'li',
                      { class: 'simple' },
                      h('div', { class: 'ev-msg' }, x.body),
                      ago(x.ts, 'ev-time muted'),
                    ),
                  ),
                )
              : emptyState('No changes recorded.'),
          ),
        ),
      );
    },
  };
};
