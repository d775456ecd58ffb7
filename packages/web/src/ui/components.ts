/** Small pieces every view uses: bars, badges, cards, tables, times, the node table. */
import type { ClusterView, FleetEvent, NodeView } from './api.ts';
import { h, type Child } from './dom.ts';
import {
  fmtAgo,
  fmtBytes,
  fmtDuration,
  fmtLoad,
  fmtPct,
  fmtTime,
  localizeTimes,
  shortVersion,
} from './format.ts';

export const ENROLL_HINT = 'npx nannyapi enroll create';

/** A relative time; the absolute one (locale format) on hover and in `datetime`. */
export function ago(iso: string | null | undefined, cls?: string | null): HTMLElement {
  return h('time', { datetime: iso ?? null, title: fmtTime(iso), class: cls ?? null }, fmtAgo(iso));
}

export function bar(ratio: number | null | undefined, label?: string): HTMLElement {
  const r = ratio === null || ratio === undefined || Number.isNaN(ratio) ? null : Math.max(0, ratio);
  const level = r === null ? '' : r >= 0.9 ? 'crit' : r >= 0.75 ? 'warn' : 'ok';
  const fill = h('span', { class: ['bar-fill', level] });
  // CSSOM, not a style attribute: the CSP allows no inline style
  fill.style.width = `${r === null ? 0 : Math.min(1, r) * 100}%`;
  return h(
    'div',
    { class: 'meter', title: label ?? '' },
    h('span', { class: 'bar' }, fill),
    h('span', { class: 'meter-label' }, r === null ? '–' : (label ?? fmtPct(r))),
  );
}

export function usage(used: number | null | undefined, total: number | null | undefined): HTMLElement {
  if (used === null || used === undefined || !total) return bar(null);
  return bar(used / total, `${fmtBytes(used)} / ${fmtBytes(total)}`);
}

export function badge(text: string, cls: string | null = null, title?: string): HTMLElement {
  return h('span', { class: ['badge', cls], title: title ?? null }, text);
}

export function onlineBadge(online: number | null): HTMLElement {
  if (online === 1) return badge('online', 'badge-ok');
  if (online === 0) return badge('offline', 'badge-crit');
  return badge('unknown');
}

/** 1 alive, 0 down, else unknown; a `partitioned` node is alive on the other side of a split */
export function aliveOf(n: NodeView): number | null {
  if (n.state === 'offline') return 0;
  if (n.state) return 1;
  return n.online;
}

export function dot(online: number | null): HTMLElement {
  const cls = online === 1 ? 'dot-ok' : online === 0 ? 'dot-crit' : 'dot-unknown';
  return h('span', { class: ['dot', cls], 'aria-hidden': 'true' });
}

export function statusBadge(status: string | null): HTMLElement {
  const cls = status === 'running' ? 'badge-ok' : status === 'stopped' ? 'badge-muted' : 'badge-warn';
  return badge(status ?? 'unknown', cls);
}

export function severityBadge(sev: string): HTMLElement {
  return badge(sev, sev === 'critical' ? 'badge-crit' : sev === 'warning' ? 'badge-warn' : 'badge-info');
}

export function quorumBadge(c: ClusterView): HTMLElement {
  if (c.quorate === 1) return badge('quorate', 'badge-ok');
  if (c.quorate === 0) return badge('no quorum', 'badge-crit');
  return badge('quorum unknown');
}

export function typeBadge(type: string): HTMLElement {
  return h('span', { class: ['type', `type-${type}`] }, type === 'lxc' ? 'LXC' : 'VM');
}

export function emptyState(title: string, detail?: Child): HTMLElement {
  return h(
    'div',
    { class: 'empty' },
    h('p', { class: 'empty-title' }, title),
    detail ? h('p', null, detail) : null,
  );
}

export function noDataYet(): HTMLElement {
  return emptyState('No data yet — enroll an agent:', [
    h('code', { class: 'cmd' }, ENROLL_HINT),
    h(
      'span',
      { class: 'muted block' },
      'then install nannyagent on each Proxmox node with that token (Settings has the command). Reports show up here within one interval.',
    ),
  ]);
}

export interface Col {
  label: string;
  cls?: string;
}

export function table(headers: readonly (string | Col)[], rows: Child, cls: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: ['table', cls] },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          headers.map((x) =>
            typeof x === 'string'
              ? h('th', { scope: 'col' }, x)
              : h('th', { scope: 'col', class: x.cls ?? null }, x.label),
          ),
        ),
      ),
      h('tbody', null, rows),
    ),
  );
}

export function card(title: Child, extra: Child, ...body: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'card' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', null, title),
      extra ? h('div', { class: 'card-extra' }, extra) : null,
    ),
    body,
  );
}

export function stat(label: string, value: string, sub: string, level: string | null, href?: string) {
  const inner = [
    h('span', { class: 'stat-label' }, label),
    h('span', { class: 'stat-value' }, value),
    h('span', { class: 'stat-sub' }, sub),
  ];
  return href ? h('a', { class: ['stat', level], href }, inner) : h('div', { class: ['stat', level] }, inner);
}

export function fact(label: string, value: Child): HTMLElement {
  return h('div', null, h('dt', null, label), h('dd', null, value ?? '–'));
}

export function loading(): HTMLElement {
  return h('p', { class: 'muted loading' }, 'Loading…');
}

/** A group of toggle buttons; `pick` gets the chosen value. */
export function segmented(
  label: string,
  options: readonly [string, string][],
  current: string,
  attr: string,
  pick: (v: string) => void,
): HTMLElement {
  const buttons = options.map(([v, text]) =>
    h(
      'button',
      { type: 'button', class: 'seg', [`data-${attr}`]: v, 'aria-pressed': String(v === current) },
      text,
    ),
  );
  for (const b of buttons)
    b.addEventListener('click', () => {
      for (const o of buttons) o.setAttribute('aria-pressed', String(o === b));
      pick(b.getAttribute(`data-${attr}`) ?? '');
    });
  return h('div', { class: 'segmented', role: 'group', 'aria-label': label }, buttons);
}

/** Names used by more than one site (two clusters may both be called "pve"). */
export function duplicateNames(sites: readonly ClusterView[]): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const c of sites) (seen.has(c.cluster_name) ? dup : seen).add(c.cluster_name);
  return dup;
}

/** Tells same-named clusters apart: the start of their fingerprint, else of their id. */
export function siteTag(c: ClusterView): HTMLElement {
  const text = c.fingerprint ? `fingerprint ${c.fingerprint.slice(0, 8)}` : `id ${c.id.slice(0, 8)}`;
  return h('span', { class: 'muted small site-tag', title: c.fingerprint ?? c.id }, text);
}

/** "{pve1, pve2} quorate · {pve3}": who sees whom in a split. */
export function partitionsLine(c: ClusterView): HTMLElement | null {
  if (!c.split || !c.partitions || c.partitions.length === 0) return null;
  return h(
    'p',
    { class: 'muted small partitions' },
    'partitioned — who sees whom: ',
    c.partitions.map((p) => `{${p.nodes.join(', ')}}${p.quorate ? ' quorate' : ''}`).join(' · '),
  );
}

/** The most common short version of a list of nodes (ties: the highest). */
export function majorityVersion(nodes: readonly NodeView[]): { version: string | null; distinct: number } {
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const v = shortVersion(n.pve_version);
    if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestN = 0;
  for (const [v, c] of counts)
    if (
      c > bestN ||
      (c === bestN && best !== null && v.localeCompare(best, undefined, { numeric: true }) > 0)
    ) {
      best = v;
      bestN = c;
    }
  return { version: best, distinct: counts.size };
}

export function nodeLink(id: string | null, name: string): Child {
  return id ? h('a', { href: `#/node/${encodeURIComponent(id)}` }, name) : name;
}

export function nodeTable(nodes: readonly NodeView[]): HTMLElement {
  const { version: major, distinct } = majorityVersion(nodes);
  const now = Date.now();
  const rows = nodes.map((n) => {
    const v = shortVersion(n.pve_version);
    const mismatch = distinct > 1 && v !== null && v !== major;
    const stale = n.last_report !== null && now - Date.parse(n.last_report) > 5 * 60_000;
    return h(
      'tr',
      { class: aliveOf(n) === 0 ? 'row-offline' : null, 'data-node': n.name },
      h(
        'td',
        null,
        h('a', { href: `#/node/${encodeURIComponent(n.id)}`, class: 'node-link' }, dot(aliveOf(n)), n.name),
        n.state === 'partitioned' || n.state === 'silent'
          ? h('span', { class: 'badge badge-warn', 'data-state': n.state }, n.state)
          : null,
        n.ip ? h('span', { class: 'muted small block' }, n.ip) : null,
      ),
      h(
        'td',
        null,
        v
          ? h(
              'span',
              {
                class: ['version', mismatch ? 'mismatch' : null],
                title: mismatch ? `differs from the cluster's ${major} (${n.pve_version})` : n.pve_version,
              },
              v,
              mismatch ? ' ≠' : '',
            )
          : h('span', { class: 'muted' }, '–'),
      ),
      h('td', { class: 'col-bar' }, bar(n.cpu_usage_ratio)),
      h('td', { class: 'col-bar' }, usage(n.mem_used_bytes, n.mem_total_bytes)),
      h('td', { class: 'col-bar' }, usage(n.rootfs_used_bytes, n.rootfs_total_bytes)),
      h('td', { class: 'num' }, fmtLoad(n.load_avg_1m)),
      h('td', { class: 'num' }, fmtDuration(n.uptime_seconds)),
      h(
        'td',
        null,
        n.last_report
          ? ago(n.last_report, stale ? 'stale' : null)
          : h(
              'span',
              { class: 'muted', title: 'named by its cluster; its own agent has not reported' },
              'no agent',
            ),
      ),
    );
  });
  return table(
    [
      'Node',
      'PVE',
      { label: 'CPU', cls: 'col-bar' },
      { label: 'Memory', cls: 'col-bar' },
      { label: 'Root FS', cls: 'col-bar' },
      { label: 'Load', cls: 'num' },
      { label: 'Uptime', cls: 'num' },
      'Last seen',
    ],
    rows,
    'nodes',
  );
}

export function eventClass(type: string): string {
  if (['went_offline', 'quorum_lost', 'gone'].includes(type)) return 'badge-crit';
  if (['came_back', 'quorum_regained', 'first_seen'].includes(type)) return 'badge-ok';
  if (['upgraded', 'rebooted', 'migrated', 'node_count_changed'].includes(type)) return 'badge-warn';
  return 'badge-info';
}

export function eventList(events: readonly FleetEvent[]): HTMLElement {
  if (events.length === 0) return emptyState('No events yet.');
  return h(
    'ol',
    { class: 'timeline' },
    events.map((e) =>
      h(
        'li',
        null,
        h('span', { class: ['badge', eventClass(e.type)] }, e.type.replaceAll('_', ' ')),
        h(
          'span',
          { class: 'ev-msg' },
          e.guest_id && e.subject === 'guest'
            ? h('a', { href: `#/guest/${encodeURIComponent(e.guest_id)}` }, localizeTimes(e.message))
            : e.node_id && e.subject === 'node'
              ? h('a', { href: `#/node/${encodeURIComponent(e.node_id)}` }, localizeTimes(e.message))
              : localizeTimes(e.message),
        ),
        ago(e.occurred_at, 'ev-time muted'),
      ),
    ),
  );
}
