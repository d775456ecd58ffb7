/**
 * The guest list's columns, its search language and sorting (pure functions, tested in Chromium
 * through the guests page), and the plain table the node page shows.
 */
import type { GuestRow } from '../api.ts';
import { ago, statusBadge, table, typeBadge, nodeLink, bar } from '../components.ts';
import { h, type Child } from '../dom.ts';
import { fmtBytes, fmtDuration, fmtPct } from '../format.ts';

export interface Column {
  key: string;
  label: string;
  cls?: string;
  /** the value sorted by */
  sort: (g: GuestRow) => number | string | null;
  cell: (g: GuestRow) => Child;
}

const memBytes = (g: GuestRow) => (g.memory_mb === null ? null : g.memory_mb * 1048576);
const memRatio = (g: GuestRow) => {
  const m = memBytes(g);
  return g.mem_used_bytes === null || g.mem_used_bytes === undefined || !m ? null : g.mem_used_bytes / m;
};

export const COLUMNS: Column[] = [
  { key: 'vmid', label: 'VMID', cls: 'num', sort: (g) => g.vmid, cell: (g) => String(g.vmid) },
  {
    key: 'name',
    label: 'Name',
    sort: (g) => (g.name ?? '').toLowerCase(),
    cell: (g) => [
      h(
        'a',
        { href: `#/guest/${encodeURIComponent(g.id)}`, class: 'guest-link' },
        g.name ?? `VMID ${g.vmid}`,
      ),
      g.template ? h('span', { class: 'badge badge-muted' }, 'template') : null,
    ],
  },
  { key: 'type', label: 'Type', sort: (g) => g.type, cell: (g) => typeBadge(g.type) },
  { key: 'status', label: 'Status', sort: (g) => g.status, cell: (g) => statusBadge(g.status) },
  {
    key: 'node',
    label: 'Node',
    cls: 'nowrap',
    sort: (g) => g.node,
    cell: (g) => nodeLink(g.node_id, g.node),
  },
  {
    key: 'cluster',
    label: 'Cluster',
    cls: 'nowrap',
    sort: (g) => g.cluster_name,
    cell: (g) => g.cluster_name,
  },
  {
    key: 'cpu',
    label: 'CPU',
    cls: 'col-bar',
    sort: (g) => g.cpu_usage_ratio ?? null,
    cell: (g) =>
      bar(
        g.status === 'running' ? (g.cpu_usage_ratio ?? null) : null,
        g.cpu_usage_ratio === null || g.cpu_usage_ratio === undefined
          ? undefined
          : `${fmtPct(g.cpu_usage_ratio)} of ${g.cpu_cores ?? '?'}`,
      ),
  },
  {
    key: 'mem',
    label: 'Memory',
    cls: 'col-bar',
    sort: (g) => g.mem_used_bytes ?? null,
    cell: (g) =>
      g.status === 'running' && memRatio(g) !== null
        ? bar(memRatio(g), `${fmtBytes(g.mem_used_bytes)} / ${fmtBytes(memBytes(g))}`)
        : h('span', { class: 'muted' }, fmtBytes(memBytes(g))),
  },
  {
    key: 'disk',
    label: 'Disk used',
    cls: 'num',
    sort: (g) => g.disk_used_bytes ?? null,
    cell: (g) => (g.disk_used_bytes ? fmtBytes(g.disk_used_bytes) : '–'),
  },
  {
    key: 'uptime',
    label: 'Uptime',
    cls: 'num',
    sort: (g) => (g.status === 'running' ? g.uptime_seconds : null),
    cell: (g) => (g.status === 'running' ? fmtDuration(g.uptime_seconds) : '–'),
  },
  {
    key: 'tags',
    label: 'Tags',
    sort: (g) => g.tags.join(','),
    cell: (g) => g.tags.map((t) => h('span', { class: 'tag' }, t)),
  },
  { key: 'seen', label: 'Last seen', sort: (g) => g.last_seen, cell: (g) => ago(g.last_seen) },
];

export interface Query {
  type: string[];
  status: string[];
  node: string[];
  tag: string[];
  cluster: string[];
  text: string[];
}

/** `tag:prod node:pve1 status:running type:lxc cluster:<id or name>` and free words (name or VMID). */
export function parseQuery(q: string): Query {
  const out: Query = { type: [], status: [], node: [], tag: [], cluster: [], text: [] };
  for (const word of q.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(type|status|node|tag|cluster):(.+)$/i.exec(word);
    if (m) out[m[1]!.toLowerCase() as Exclude<keyof Query, 'text'>].push(m[2]!.toLowerCase());
    else out.text.push(word.toLowerCase());
  }
  return out;
}

export function matches(g: GuestRow, q: Query): boolean {
  const any = (want: string[], have: string) => want.length === 0 || want.includes(have.toLowerCase());
  if (
    !any(q.type, g.type) &&
    !(q.type.includes('vm') && g.type === 'qemu') &&
    !(q.type.includes('ct') && g.type === 'lxc')
  )
    return false;
  if (!any(q.status, g.status)) return false;
  if (
    q.node.length &&
    !q.node.includes(g.node.toLowerCase()) &&
    !q.node.includes((g.node_id ?? '').toLowerCase())
  )
    return false;
  if (
    q.cluster.length &&
    !q.cluster.includes(g.cluster_id.toLowerCase()) &&
    !q.cluster.includes(g.cluster_name.toLowerCase())
  )
    return false;
  if (q.tag.length && !q.tag.every((t) => g.tags.some((x) => x.toLowerCase() === t))) return false;
  const hay = `${(g.name ?? '').toLowerCase()} ${g.vmid}`;
  return q.text.every((w) => hay.includes(w) || String(g.vmid) === w);
}

export function sortGuests(list: GuestRow[], key: string, dir: 1 | -1): GuestRow[] {
  const col = COLUMNS.find((c) => c.key === key) ?? COLUMNS[0]!;
  const vals = new Map(list.map((g) => [g, col.sort(g)]));
  return list.sort((a, b) => {
    const x = vals.get(a) ?? null;
    const y = vals.get(b) ?? null;
    // empty values last whichever the direction
    if (x === null || y === null) return x === y ? a.vmid - b.vmid : x === null ? 1 : -1;
    const c =
      typeof x === 'number' && typeof y === 'number'
        ? x - y
        : String(x).localeCompare(String(y), undefined, { numeric: true });
    return c === 0 ? a.vmid - b.vmid : c * dir;
  });
}

export function guestRow(g: GuestRow, cols: readonly Column[] = COLUMNS): HTMLTableRowElement {
  return h(
    'tr',
    { class: g.gone ? 'row-offline' : null, 'data-guest': g.id },
    cols.map((c) => h('td', { class: c.cls ?? null }, c.cell(g))),
  );
}

/** The node page's list: no node or cluster column. */
export function guestMiniTable(list: readonly GuestRow[]): HTMLElement {
  const cols = COLUMNS.filter((c) => c.key !== 'node' && c.key !== 'cluster');
  const sorted = [...list].sort((a, b) => a.vmid - b.vmid);
  return table(
    cols.map((c) => ({ label: c.label, ...(c.cls ? { cls: c.cls } : {}) })),
    sorted.map((g) => guestRow(g, cols)),
    'guests',
  );
}
