/* global document, window, location, URLSearchParams */
// The nannyapi dashboard: plain ES module, no framework. Every piece of text from the API reaches
// the page through textContent or attribute setters (never innerHTML), so a guest named
// "<img onerror=…>" shows as text. The session cookie (HttpOnly, SameSite=Strict) carries the login.

const REFRESH_MS = 10_000;
const SVG_NS = 'http://www.w3.org/2000/svg';
const ENROLL_HINT = 'npx nannyapi enroll create';
const GUEST_PAGE = 50;
/** samples per history request: the API's maximum */
const MAX_SAMPLES = 10_000;
/** how often each range's history is fetched again (ms) */
const HISTORY_EVERY = { '1h': 0, '6h': 10_000, '24h': 30_000, '7d': 120_000 };
/** the node page's history ranges (ms), shortest first */
const RANGES = { '1h': 3600_000, '6h': 6 * 3600_000, '24h': 86400_000, '7d': 7 * 86400_000 };

// ------------------------------------------------------------------ DOM helpers

/** Appends children: strings become text nodes, arrays are flattened, null/false/undefined skipped. */
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (typeof c === 'string' || typeof c === 'number')
      el.appendChild(document.createTextNode(String(c)));
    else el.appendChild(c);
  }
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return el;
}

/** h('a', { href: '#/', class: 'x' }, 'text', child…) */
function h(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

function svg(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

function $(id) {
  return document.getElementById(id);
}

// ------------------------------------------------------------------ formatting

function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function fmtPct(ratio) {
  if (ratio === null || ratio === undefined) return '–';
  const p = ratio * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)} %`;
}

function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${hr} h`;
  if (hr > 0) return `${hr} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

function fmtAgo(iso) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '–';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 0) return 'just now';
  return `${fmtDuration(s)} ago`;
}

// Every time on the page goes through these three formatters: the browser's locale decides the
// order, the names and the 12- or 24-hour clock (no hour cycle is forced, no ISO string is shown).
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric' });
function fmtTime(iso) {
  if (!iso) return '';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? String(iso) : dateTimeFmt.format(new Date(t));
}

const ISO_IN_TEXT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/g;
/** Server texts (alert summaries, event messages) carry ISO-8601 times: shown in the locale's format. */
function localizeTimes(text) {
  return typeof text === 'string' ? text.replace(ISO_IN_TEXT, (m) => fmtTime(m)) : text;
}

/** A relative time with the exact time as tooltip. */
function ago(iso, cls) {
  return h('time', { datetime: iso || null, title: fmtTime(iso), class: cls }, fmtAgo(iso));
}

function fmtLoad(v) {
  return v === null || v === undefined ? '–' : v.toFixed(2);
}

/** "pve-manager/8.4.1/2a5fa54a8503f96d" → "8.4.1"; anything else as it is. */
function shortVersion(v) {
  if (!v) return null;
  const m = /^pve-manager\/([^/]+)/.exec(v);
  return m ? m[1] : v;
}

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const init = { credentials: 'same-origin', headers: { accept: 'application/json' }, ...options };
  if (options.body !== undefined) {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'The API cannot be reached');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg =
      body && typeof body.error_description === 'string' ? body.error_description : `HTTP ${res.status}`;
    throw new ApiError(res.status, msg);
  }
  return body;
}

const qs = (params) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== '' && v !== null && v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

// ------------------------------------------------------------------ small components

function bar(ratio, label) {
  const r = ratio === null || ratio === undefined || Number.isNaN(ratio) ? null : Math.max(0, ratio);
  const level = r === null ? '' : r >= 0.9 ? 'crit' : r >= 0.75 ? 'warn' : 'ok';
  const fill = h('span', { class: ['bar-fill', level] });
  fill.style.width = `${r === null ? 0 : Math.min(1, r) * 100}%`;
  return h(
    'div',
    { class: 'meter', title: label || '' },
    h('span', { class: 'bar' }, fill),
    h('span', { class: 'meter-label' }, r === null ? '–' : label || fmtPct(r)),
  );
}

function usage(used, total) {
  if (used === null || used === undefined || !total) return bar(null);
  return bar(used / total, `${fmtBytes(used)} / ${fmtBytes(total)}`);
}

function onlineBadge(online) {
  if (online === 1) return h('span', { class: 'badge badge-ok' }, 'online');
  if (online === 0) return h('span', { class: 'badge badge-crit' }, 'offline');
  return h('span', { class: 'badge' }, 'unknown');
}

/**
 * 1 alive, 0 down, else unknown. With membership views the server derives a state from every
 * reporter's view: a `partitioned` node is alive on the other side of a split, not greyed out.
 */
function aliveOf(n) {
  if (n.state === 'offline') return 0;
  if (n.state) return 1;
  return n.online;
}

/** "{pve1,pve2} quorate · {pve3}": who sees whom in a split. */
function partitionsLine(c) {
  if (!c.split || !c.partitions || c.partitions.length === 0) return null;
  return h(
    'p',
    { class: 'muted small partitions', 'data-partitions': '' },
    'partitioned — who sees whom: ',
    c.partitions.map((p) => `{${p.nodes.join(', ')}}${p.quorate ? ' quorate' : ''}`).join(' · '),
  );
}

function dot(online) {
  const cls = online === 1 ? 'dot-ok' : online === 0 ? 'dot-crit' : 'dot-unknown';
  return h('span', { class: ['dot', cls], 'aria-hidden': 'true' });
}

function statusBadge(status) {
  const cls = status === 'running' ? 'badge-ok' : status === 'stopped' ? 'badge-muted' : 'badge-warn';
  return h('span', { class: ['badge', cls] }, status || 'unknown');
}

function severityBadge(sev) {
  const cls = sev === 'critical' ? 'badge-crit' : sev === 'warning' ? 'badge-warn' : 'badge-info';
  return h('span', { class: ['badge', cls] }, sev || 'info');
}

function emptyState(title, detail) {
  return h(
    'div',
    { class: 'empty' },
    h('p', { class: 'empty-title' }, title),
    detail ? h('p', null, detail) : null,
  );
}

function noDataYet() {
  return emptyState('No data yet — enroll an agent:', [
    h('code', { class: 'cmd' }, ENROLL_HINT),
    h(
      'span',
      { class: 'muted block' },
      'then install nannyagent on each Proxmox node with that token. Reports show up here within one interval.',
    ),
  ]);
}

function table(headers, rows, cls) {
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
          headers.map((x) => h('th', { scope: 'col', class: x.cls }, x.label ?? x)),
        ),
      ),
      h('tbody', null, rows),
    ),
  );
}

/** Names used by more than one site (two clusters may both be called "pve"). */
function duplicateNames(sites) {
  const seen = new Set();
  const dup = new Set();
  for (const c of sites) (seen.has(c.cluster_name) ? dup : seen).add(c.cluster_name);
  return dup;
}

/** Tells same-named clusters apart: the start of their fingerprint, else of their id. */
function siteTag(c) {
  const text = c.fingerprint ? `fingerprint ${c.fingerprint.slice(0, 8)}` : `id ${c.id.slice(0, 8)}`;
  return h('span', { class: 'muted small site-tag', title: c.fingerprint || c.id }, text);
}

function card(title, extra, ...body) {
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

/** The most common short version of a list of nodes (ties: the highest). */
function majorityVersion(nodes) {
  const counts = new Map();
  for (const n of nodes) {
    const v = shortVersion(n.pve_version);
    if (v) counts.set(v, (counts.get(v) || 0) + 1);
  }
  let best = null;
  let bestN = 0;
  for (const [v, c] of counts) {
    if (
      c > bestN ||
      (c === bestN && best !== null && v.localeCompare(best, undefined, { numeric: true }) > 0)
    ) {
      best = v;
      bestN = c;
    }
  }
  return { version: best, distinct: counts.size };
}

function nodeTable(nodes) {
  const { version: major, distinct } = majorityVersion(nodes);
  const rows = nodes.map((n) => {
    const v = shortVersion(n.pve_version);
    const mismatch = distinct > 1 && v !== null && v !== major;
    const stale = n.last_report && Date.now() - Date.parse(n.last_report) > 5 * 60_000;
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

function quorumBadge(c) {
  if (c.quorate === 1) return h('span', { class: 'badge badge-ok' }, 'quorate');
  if (c.quorate === 0) return h('span', { class: 'badge badge-crit' }, 'no quorum');
  return h('span', { class: 'badge' }, 'quorum unknown');
}

function eventClass(type) {
  if (['went_offline', 'quorum_lost', 'gone'].includes(type)) return 'badge-crit';
  if (['came_back', 'quorum_regained', 'first_seen'].includes(type)) return 'badge-ok';
  if (['upgraded', 'rebooted', 'migrated', 'node_count_changed'].includes(type)) return 'badge-warn';
  return 'badge-info';
}

function eventList(events) {
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
          e.node_id && e.subject === 'node'
            ? h('a', { href: `#/node/${encodeURIComponent(e.node_id)}` }, localizeTimes(e.message))
            : localizeTimes(e.message),
        ),
        ago(e.occurred_at, 'ev-time muted'),
      ),
    ),
  );
}

/** "cluster · node · VMID n"; a standalone site is named after its node, so it is said once. */
function alertWhere(a, clusterNames) {
  const site = clusterNames.get(a.cluster_id) || a.cluster_name || a.cluster_id;
  const parts = [site === a.node ? null : site, a.node, a.vmid ? `VMID ${a.vmid}` : null].filter(Boolean);
  return parts.join(' · ');
}

// ------------------------------------------------------------------ charts

/** A "nice" axis top for four grid steps: 1, 2, 2.5 or 5 times a power of ten per step. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const raw = v / 4;
  const exp = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= raw) return 4 * m * exp;
  return 40 * exp;
}

/** niceMax in the binary unit the bytes are shown in, so the grid reads 16, 32, 48, 64 GiB. */
function niceBytes(v) {
  let unit = 1;
  while (v / unit >= 1024) unit *= 1024;
  return niceMax(v / unit) * unit;
}

/**
 * A line chart as inline SVG. `series`: [{ key(sample) → number|null, label, cls, area? }].
 * Samples further apart than three typical intervals are drawn with a gap (the agent was silent).
 */
function lineChart({ title, samples, series, yMax, fmt, from, to, current, width }) {
  const W = Math.max(420, Math.round(width || 640));
  const H = 190;
  const L = 56;
  const R = 12;
  const T = 12;
  const B = 26;
  const t0 = Date.parse(from);
  const t1 = Date.parse(to);
  const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - Math.min(v, yMax) / yMax) * (H - T - B);
  const times = samples.map((s) => Date.parse(s.ts));
  const gaps = [];
  for (let i = 1; i < times.length; i++) gaps.push(times[i] - times[i - 1]);
  gaps.sort((a, b) => a - b);
  const typical = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0;
  const gapLimit = Math.max(typical * 3, 90_000);

  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    role: 'img',
    'aria-label': `${title} chart`,
  });
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const yy = y(v);
    root.appendChild(svg('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: 'grid' }));
    root.appendChild(svg('text', { x: L - 8, y: yy + 4, class: 'axis', 'text-anchor': 'end' }, fmt(v)));
  }
  const span = t1 - t0;
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const t = t0 + (span * i) / ticks;
    const label = span > 2 * 86400_000 ? dayFmt.format(new Date(t)) : timeFmt.format(new Date(t));
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    root.appendChild(svg('text', { x: x(t), y: H - 8, class: 'axis', 'text-anchor': anchor }, label));
  }

  for (const s of series) {
    const segments = [];
    let cur = [];
    samples.forEach((sample, i) => {
      const v = s.key(sample);
      const t = times[i];
      if (v === null || v === undefined || Number.isNaN(v) || Number.isNaN(t)) {
        if (cur.length) segments.push(cur);
        cur = [];
        return;
      }
      if (cur.length && t - cur[cur.length - 1][0] > gapLimit) {
        segments.push(cur);
        cur = [];
      }
      cur.push([t, v]);
    });
    if (cur.length) segments.push(cur);
    for (const seg of segments) {
      const pts = seg.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      if (s.area && seg.length > 1) {
        const first = seg[0];
        const last = seg[seg.length - 1];
        const d = `M${x(first[0]).toFixed(1)},${y(0)} L${pts.join(' L')} L${x(last[0]).toFixed(1)},${y(0)} Z`;
        root.appendChild(svg('path', { d, class: ['area', s.cls] }));
      }
      if (seg.length === 1) {
        const [t, v] = seg[0];
        root.appendChild(svg('circle', { cx: x(t), cy: y(v), r: 2.5, class: ['point', s.cls] }));
      } else {
        root.appendChild(svg('polyline', { points: pts.join(' '), class: ['line', s.cls] }));
      }
    }
  }

  // Hover read-out: a guide line and the nearest sample's values.
  const guide = svg('line', { x1: 0, x2: 0, y1: T, y2: H - B, class: 'guide', visibility: 'hidden' });
  const tip = svg('text', { x: L + 6, y: T + 12, class: 'tip', visibility: 'hidden' });
  const hit = svg('rect', { x: L, y: T, width: W - L - R, height: H - T - B, class: 'hit' });
  root.append(guide, tip, hit);
  hit.addEventListener('mousemove', (ev) => {
    if (samples.length === 0) return;
    const box = root.getBoundingClientRect();
    const px = ((ev.clientX - box.left) / box.width) * W;
    const t = t0 + ((px - L) / (W - L - R)) * (t1 - t0);
    let best = 0;
    for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - t) < Math.abs(times[best] - t)) best = i;
    const gx = x(times[best]);
    guide.setAttribute('x1', String(gx));
    guide.setAttribute('x2', String(gx));
    guide.setAttribute('visibility', 'visible');
    const vals = series
      .map((s) => {
        const v = s.key(samples[best]);
        return v === null || v === undefined ? null : `${s.label} ${fmt(v)}`;
      })
      .filter(Boolean)
      .join(' · ');
    tip.textContent = `${fmtTime(samples[best].ts)} — ${vals}`;
    const right = gx > (W + L) / 2;
    tip.setAttribute('x', String(right ? gx - 6 : gx + 6));
    tip.setAttribute('text-anchor', right ? 'end' : 'start');
    tip.setAttribute('visibility', 'visible');
  });
  hit.addEventListener('mouseleave', () => {
    guide.setAttribute('visibility', 'hidden');
    tip.setAttribute('visibility', 'hidden');
  });

  return h(
    'figure',
    { class: 'chart-card', 'data-chart': title },
    h(
      'figcaption',
      null,
      h('span', { class: 'chart-title' }, title),
      h('span', { class: 'chart-now' }, current),
      h(
        'span',
        { class: 'legend' },
        series.map((s) => h('span', { class: ['legend-item', s.cls] }, s.label)),
      ),
    ),
    samples.length === 0 ? h('p', { class: 'chart-empty muted' }, 'No samples in this range.') : null,
    root,
  );
}

// ------------------------------------------------------------------ views

/** Each view: mount(container, params) → { refresh(): Promise<void> }. */
const views = {
  overview: {
    mount(root) {
      const body = h('div', { class: 'stack' }, h('p', { class: 'muted' }, 'Loading…'));
      root.appendChild(body);
      return {
        async refresh() {
          const [clusters, nodes, firing, events, guests, running] = await Promise.all([
            api('/api/clusters?include_standalone=true'),
            api('/api/nodes'),
            api('/api/alerts?state=firing&limit=1000'),
            api('/api/events?limit=8'),
            api('/api/guests?limit=1'),
            api('/api/guests?limit=1&status=running'),
          ]);
          const all = clusters.data;
          const byCluster = new Map();
          for (const n of nodes.data) {
            if (!byCluster.has(n.cluster_id)) byCluster.set(n.cluster_id, []);
            byCluster.get(n.cluster_id).push(n);
          }
          for (const list of byCluster.values())
            list.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
          const real = all.filter((c) => !c.standalone);
          const standalone = all.filter((c) => c.standalone);
          const online = nodes.data.filter((n) => aliveOf(n) === 1).length;
          const alerts = firing.data;
          const crit = alerts.filter((a) => a.severity === 'critical').length;

          const stats = h(
            'div',
            { class: 'stats' },
            stat(
              'Clusters',
              String(real.length),
              standalone.length ? `+ ${standalone.length} standalone` : 'no standalone nodes',
            ),
            stat(
              'Nodes online',
              `${online} / ${nodes.data.length}`,
              nodes.data.length === 0
                ? 'none reported yet'
                : online < nodes.data.length
                  ? `${nodes.data.length - online} not online`
                  : 'all online',
              online < nodes.data.length ? 'warn' : null,
            ),
            stat(
              'Guests running',
              `${running.total} / ${guests.total}`,
              'containers and VMs',
              null,
              '#/guests',
            ),
            stat(
              'Firing alerts',
              String(alerts.length),
              crit
                ? `${crit} critical`
                : alerts.length
                  ? `${alerts.length} warning${alerts.length === 1 ? '' : 's'}`
                  : 'all quiet',
              alerts.length ? (crit ? 'crit' : 'warn') : 'ok',
              '#/alerts',
            ),
          );

          const sections = [];
          if (all.length === 0) sections.push(card('Getting started', null, noDataYet()));
          const dups = duplicateNames(real);
          for (const c of real) {
            const list = byCluster.get(c.id) || [];
            const { distinct } = majorityVersion(list);
            const el = card(
              [c.cluster_name, dups.has(c.cluster_name) ? siteTag(c) : null],
              [
                quorumBadge(c),
                c.split
                  ? h(
                      'span',
                      { class: 'badge badge-crit', title: 'the nodes do not all see each other' },
                      'partitioned',
                    )
                  : h(
                      'span',
                      { class: 'badge badge-muted' },
                      `${c.nodes_online} / ${c.nodes ?? c.nodes_reporting} nodes online`,
                    ),
                distinct > 1
                  ? h(
                      'span',
                      { class: 'badge badge-warn', title: 'nodes run different pve-manager versions' },
                      'version mismatch',
                    )
                  : null,
                h(
                  'a',
                  { class: 'badge badge-link', href: `#/guests?cluster=${encodeURIComponent(c.id)}` },
                  `${c.guests} guests`,
                ),
                h('span', { class: 'muted small' }, 'seen ', ago(c.last_seen)),
              ],
              partitionsLine(c),
              list.length ? nodeTable(list) : emptyState('No node of this cluster has reported yet.'),
            );
            if (c.quorate === 0 || c.split) el.classList.add('card-bad');
            sections.push(el);
          }
          if (standalone.length) {
            const list = standalone.flatMap((c) => byCluster.get(c.id) || []);
            sections.push(
              card(
                'Standalone nodes',
                h(
                  'span',
                  { class: 'muted small' },
                  `${standalone.length} site${standalone.length === 1 ? '' : 's'} without a cluster`,
                ),
                list.length ? nodeTable(list) : emptyState('No standalone node has reported yet.'),
              ),
            );
          }
          const lower = h(
            'div',
            { class: 'grid-2' },
            card(
              'Firing alerts',
              h('a', { href: '#/alerts' }, 'all alerts →'),
              alerts.length === 0
                ? emptyState('No alerts firing.', 'All quiet.')
                : h(
                    'ul',
                    { class: 'alert-mini' },
                    alerts
                      .slice(0, 6)
                      .map((a) =>
                        h(
                          'li',
                          null,
                          severityBadge(a.severity),
                          h('span', null, localizeTimes(a.summary)),
                          ago(a.started_at, 'muted small'),
                        ),
                      ),
                  ),
            ),
            card('Recent events', h('a', { href: '#/events' }, 'timeline →'), eventList(events.data)),
          );
          clear(body);
          append(body, [stats, sections, all.length ? lower : null]);
          setAlertCount(alerts.length);
        },
      };
    },
  },

  guests: {
    mount(root, params) {
      const f = {
        type: params.get('type') || '',
        status: params.get('status') || '',
        q: params.get('q') || '',
        cluster: params.get('cluster') || '',
        node: params.get('node') || '',
        offset: 0,
      };
      const select = (name, options) =>
        h(
          'select',
          { name, 'aria-label': name },
          options.map(([v, label]) => {
            const o = h('option', { value: v }, label);
            if (v === f[name]) o.selected = true;
            return o;
          }),
        );
      const typeSel = select('type', [
        ['', 'All types'],
        ['lxc', 'Containers (LXC)'],
        ['qemu', 'VMs (QEMU)'],
      ]);
      const statusSel = select('status', [
        ['', 'Any status'],
        ['running', 'Running'],
        ['stopped', 'Stopped'],
        ['paused', 'Paused'],
      ]);
      const clusterSel = select('cluster', [['', 'All clusters']]);
      const text = h('input', {
        type: 'search',
        name: 'q',
        placeholder: 'Name or VMID',
        value: f.q,
        'aria-label': 'search',
      });
      const form = h('form', { class: 'filters', role: 'search' }, typeSel, statusSel, clusterSel, text);
      const out = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
      const pager = h('div', { class: 'pager' });
      root.appendChild(card('Guests', null, form, out, pager));

      let refresh;
      const changed = () => {
        f.type = typeSel.value;
        f.status = statusSel.value;
        f.cluster = clusterSel.value;
        f.q = text.value.trim();
        f.offset = 0;
        void refresh().catch(showError);
      };
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        changed();
      });
      for (const s of [typeSel, statusSel, clusterSel]) s.addEventListener('change', changed);
      let debounce;
      text.addEventListener('input', () => {
        clearTimeout(debounce);
        debounce = setTimeout(changed, 250);
      });

      let clustersLoaded = false;
      refresh = async () => {
        if (!clustersLoaded) {
          const cl = await api('/api/clusters?include_standalone=true');
          const dups = duplicateNames(cl.data);
          for (const c of cl.data) {
            const o = h(
              'option',
              { value: c.id },
              (c.standalone ? `${c.cluster_name} (standalone)` : c.cluster_name) +
                (dups.has(c.cluster_name) ? ` · ${siteTag(c).textContent}` : ''),
            );
            if (c.id === f.cluster) o.selected = true;
            clusterSel.appendChild(o);
          }
          clustersLoaded = true;
        }
        const r = await api(
          `/api/guests${qs({ type: f.type, status: f.status, q: f.q, cluster: f.cluster, node: f.node, limit: GUEST_PAGE, offset: f.offset })}`,
        );
        clear(out);
        clear(pager);
        const filtered = f.type || f.status || f.q || f.cluster || f.node;
        if (r.total === 0) {
          out.appendChild(filtered ? emptyState('No guests match these filters.') : noDataYet());
          return;
        }
        out.appendChild(guestTable(r.data, true));
        const first = r.offset + 1;
        const last = r.offset + r.data.length;
        const prev = h('button', { type: 'button', class: 'btn', disabled: r.offset === 0 }, '← Previous');
        const next = h('button', { type: 'button', class: 'btn', disabled: last >= r.total }, 'Next →');
        prev.addEventListener('click', () => {
          f.offset = Math.max(0, f.offset - GUEST_PAGE);
          void refresh().catch(showError);
        });
        next.addEventListener('click', () => {
          f.offset += GUEST_PAGE;
          void refresh().catch(showError);
        });
        append(pager, [h('span', { class: 'muted' }, `${first}–${last} of ${r.total}`), prev, next]);
      };
      return { refresh: () => refresh() };
    },
  },

  node: {
    mount(root, params, id) {
      const ranges = RANGES;
      // null until the user picks one: the first load then fits the range to the node's history
      let range = params.get('range') in ranges ? params.get('range') : state.range;
      let hist = null;
      const head = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
      const buttons = Object.keys(ranges).map((k) =>
        h(
          'button',
          { type: 'button', class: 'seg', 'data-range': k, 'aria-pressed': String(k === range) },
          k,
        ),
      );
      const charts = h('div', { class: 'charts' });
      const guests = h('div');
      const events = h('div');
      root.append(
        h('a', { href: '#/', class: 'back' }, '← Overview'),
        head,
        card(
          'History',
          h('div', { class: 'segmented', role: 'group', 'aria-label': 'time range' }, buttons),
          charts,
        ),
        card('Guests on this node', null, guests),
        card('Events', null, events),
      );
      let refresh;
      for (const b of buttons)
        b.addEventListener('click', () => {
          range = b.dataset.range;
          state.range = range;
          for (const o of buttons) o.setAttribute('aria-pressed', String(o === b));
          void refresh().catch(showError);
        });
      refresh = async () => {
        const to = new Date();
        const enc = encodeURIComponent(id);
        if (range === null) {
          range = await fittingRange(enc, to);
          for (const o of buttons) o.setAttribute('aria-pressed', String(o.dataset.range === range));
        }
        const from = new Date(to.getTime() - ranges[range]);
        // The history of a long range changes little in 10 s and is the heavy part: it is
        // fetched again only after its own period; the node's current state comes every time
        // (an empty window: no samples).
        const fresh = hist && hist.range === range && Date.now() - hist.at < HISTORY_EVERY[range];
        const now = to.toISOString();
        const [n, g, ev, hn] = await Promise.all([
          api(`/api/nodes/${enc}${qs({ from: now, to: now, limit: 1 })}`),
          api(`/api/guests${qs({ node: id, limit: 500 })}`),
          api(`/api/events${qs({ node: id, limit: 20 })}`),
          fresh
            ? null
            : api(`/api/nodes/${enc}${qs({ from: from.toISOString(), to: now, limit: MAX_SAMPLES })}`),
        ]);
        if (hn) hist = { range, at: Date.now(), history: hn.data.history };
        const node = n.data;
        const history = hist.history;
        const samples = history.samples.slice().sort((a, b) => a.ts.localeCompare(b.ts));
        clear(head);
        head.appendChild(
          h(
            'section',
            { class: 'card node-head' },
            h(
              'div',
              { class: 'card-head' },
              h('h2', null, dot(node.online), node.name),
              h(
                'div',
                { class: 'card-extra' },
                onlineBadge(node.online),
                h('span', { class: 'badge badge-muted' }, node.cluster_name),
                node.pve_version
                  ? h(
                      'span',
                      { class: 'badge badge-muted', title: node.pve_version },
                      `PVE ${shortVersion(node.pve_version)}`,
                    )
                  : null,
              ),
            ),
            h(
              'dl',
              { class: 'facts' },
              fact('IP', node.ip || '–'),
              fact('Kernel', node.kernel_version || '–'),
              fact('Uptime', fmtDuration(node.uptime_seconds)),
              fact('Load (1 min)', fmtLoad(node.load_avg_1m)),
              fact('Last report', node.last_report ? ago(node.last_report) : 'no agent'),
              fact('First seen', ago(node.first_seen)),
            ),
            h(
              'div',
              { class: 'meters' },
              h('div', null, h('span', { class: 'muted small' }, 'CPU'), bar(node.cpu_usage_ratio)),
              h(
                'div',
                null,
                h('span', { class: 'muted small' }, 'Memory'),
                usage(node.mem_used_bytes, node.mem_total_bytes),
              ),
              h(
                'div',
                null,
                h('span', { class: 'muted small' }, 'Root FS'),
                usage(node.rootfs_used_bytes, node.rootfs_total_bytes),
              ),
            ),
          ),
        );
        const last = samples[samples.length - 1];
        const memMax = niceBytes(
          Math.max(0, ...samples.map((s) => s.mem_total_bytes || s.mem_used_bytes || 0)),
        );
        const loadMax = niceMax(Math.max(1, ...samples.map((s) => s.load_avg_1m || 0)));
        const cpuMax = Math.max(1, ...samples.map((s) => s.cpu_usage_ratio || 0));
        // The SVG is drawn at the size it is shown, so its text stays at 11 px.
        const common = {
          samples,
          from: history.from,
          to: history.to,
          width: charts.clientWidth - 26,
        };
        clear(charts);
        charts.append(
          lineChart({
            ...common,
            title: 'CPU',
            series: [{ key: (s) => s.cpu_usage_ratio, label: 'busy', cls: 's1', area: true }],
            yMax: cpuMax,
            fmt: (v) => `${Math.round(v * 100)} %`,
            current: last ? fmtPct(last.cpu_usage_ratio) : '',
          }),
          lineChart({
            ...common,
            title: 'Memory',
            series: [
              { key: (s) => s.mem_used_bytes, label: 'used', cls: 's2', area: true },
              { key: (s) => s.mem_total_bytes, label: 'total', cls: 's-total' },
            ],
            yMax: memMax,
            fmt: fmtBytes,
            current: last ? `${fmtBytes(last.mem_used_bytes)} of ${fmtBytes(last.mem_total_bytes)}` : '',
          }),
          lineChart({
            ...common,
            title: 'Load',
            series: [{ key: (s) => s.load_avg_1m, label: '1 min', cls: 's3', area: true }],
            yMax: loadMax,
            fmt: (v) => (loadMax < 4 ? v.toFixed(loadMax < 2 ? 2 : 1) : String(Math.round(v))),
            current: last ? fmtLoad(last.load_avg_1m) : '',
          }),
        );
        if (samples.length >= MAX_SAMPLES)
          charts.appendChild(
            h(
              'p',
              { class: 'muted small' },
              `Showing the newest ${MAX_SAMPLES.toLocaleString()} samples of this range (the API's limit per request), from ${fmtTime(samples[0].ts)}.`,
            ),
          );
        charts.dataset.range = range;
        clear(guests);
        guests.appendChild(g.data.length ? guestTable(g.data, false) : emptyState('No guests on this node.'));
        clear(events);
        events.appendChild(eventList(ev.data));
      };
      return { refresh: () => refresh() };
    },
  },

  alerts: {
    mount(root, params) {
      let which = params.get('state') === 'resolved' ? 'resolved' : 'firing';
      const buttons = ['firing', 'resolved'].map((k) =>
        h(
          'button',
          { type: 'button', class: 'seg', 'aria-pressed': String(k === which), 'data-state': k },
          k === 'firing' ? 'Firing' : 'Resolved',
        ),
      );
      const msg = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const out = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
      root.appendChild(
        card(
          'Alerts',
          h('div', { class: 'segmented', role: 'group', 'aria-label': 'alert state' }, buttons),
          msg,
          out,
        ),
      );
      let refresh;
      for (const b of buttons)
        b.addEventListener('click', () => {
          which = b.dataset.state;
          for (const o of buttons) o.setAttribute('aria-pressed', String(o === b));
          void refresh().catch(showError);
        });
      const acknowledge = async (a, btn) => {
        btn.disabled = true;
        msg.hidden = true;
        try {
          await api(`/api/alerts/${encodeURIComponent(a.id)}/acknowledge`, { method: 'POST', body: {} });
          await refresh();
        } catch (err) {
          if (err.status === 401) return showLogin();
          msg.textContent = `Could not acknowledge: ${err.message}`;
          msg.hidden = false;
          btn.disabled = false;
        }
      };
      refresh = async () => {
        const [r, cl] = await Promise.all([
          api(`/api/alerts${qs({ state: which, limit: 200 })}`),
          api('/api/clusters?include_standalone=true'),
        ]);
        const names = new Map(cl.data.map((c) => [c.id, c.cluster_name]));
        if (which === 'firing') setAlertCount(r.data.length);
        clear(out);
        if (r.data.length === 0) {
          out.appendChild(
            which === 'firing'
              ? emptyState('No alerts firing.', 'All quiet.')
              : emptyState('No resolved alerts yet.'),
          );
          return;
        }
        const rows = r.data.map((a) => {
          let action = null;
          if (a.acknowledged_at)
            action = h(
              'span',
              { class: 'muted small' },
              `ack by ${a.acknowledged_by || '?'} `,
              ago(a.acknowledged_at),
            );
          else if (a.state === 'firing') {
            const btn = h('button', { type: 'button', class: 'btn btn-small' }, 'Acknowledge');
            btn.addEventListener('click', () => void acknowledge(a, btn));
            action = btn;
          }
          return h(
            'tr',
            null,
            h('td', null, severityBadge(a.severity)),
            h(
              'td',
              null,
              h('span', { class: 'block' }, localizeTimes(a.summary)),
              h('span', { class: 'muted small' }, a.rule, a.silenced ? ' · silenced' : ''),
            ),
            h('td', { class: 'nowrap' }, alertWhere(a, names)),
            h('td', null, ago(a.started_at)),
            h(
              'td',
              null,
              a.resolved_at
                ? [
                    ago(a.resolved_at),
                    a.resolve_summary
                      ? h('span', { class: 'muted small block' }, localizeTimes(a.resolve_summary))
                      : null,
                  ]
                : h('span', { class: 'muted' }, '–'),
            ),
            h('td', null, action),
          );
        });
        out.appendChild(table(['Severity', 'Alert', 'Where', 'Started', 'Resolved', ''], rows, 'alerts'));
      };
      return { refresh: () => refresh() };
    },
  },

  guest: {
    mount(root, _params, id) {
      const out = h('div', { class: 'stack' }, h('p', { class: 'muted' }, 'Loading…'));
      root.append(h('a', { href: '#/guests', class: 'back' }, '← Guests'), out);
      const refresh = async () => {
        const r = await api(`/api/guests/${encodeURIComponent(id)}`);
        const g = r.data;
        const cfg = g.config || {};
        const yesNo = (v) => (v === true ? 'yes' : v === false ? 'no' : null);
        const cell = (v) =>
          v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, '–') : String(v);
        const nets = (g.networks || []).map((n) =>
          h(
            'tr',
            null,
            h('td', null, n.key),
            h('td', null, cell(n.name || n.model)),
            h('td', null, h('code', null, cell(n.hwaddr))),
            h('td', null, cell(n.bridge)),
            h('td', null, cell([n.ip, n.ip6].filter(Boolean).join(' · '))),
            h('td', null, cell([n.gw, n.gw6].filter(Boolean).join(' · '))),
            h('td', { class: 'num' }, cell(n.vlan_tag)),
            h('td', null, cell(yesNo(n.firewall))),
          ),
        );
        const disks = (g.disks || []).map((d) =>
          h(
            'tr',
            null,
            h('td', null, d.key),
            h('td', null, cell(d.storage)),
            h('td', null, h('code', null, d.volume)),
            h('td', { class: 'num' }, d.size_bytes === undefined ? cell(null) : fmtBytes(d.size_bytes)),
            h('td', null, cell(d.mount_path || d.media)),
          ),
        );
        const cfgRows = Object.keys(cfg)
          .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
          .map((k) =>
            h('tr', null, h('th', { scope: 'row' }, k), h('td', null, h('code', null, String(cfg[k])))),
          );
        const history = [
          ...(g.status_changes || []).map((c) => ({
            ts: c.ts,
            text: c.from_status
              ? `status ${c.from_status} → ${c.to_status}`
              : `first reported ${c.to_status}`,
          })),
          ...(g.config_versions || []).map((v) => ({
            ts: v.ts,
            text: v.diff
              ? `config: ${
                  ['added', 'changed', 'removed']
                    .flatMap((kind) => Object.keys(v.diff[kind] || {}).map((k) => `${kind} ${k}`))
                    .join(', ') || 'no key changed'
                }`
              : 'config first recorded',
          })),
        ].sort((a, b) => b.ts.localeCompare(a.ts));
        clear(out);
        append(out, [
          h(
            'section',
            { class: 'card' },
            h(
              'div',
              { class: 'card-head' },
              h('h2', null, g.name || `VMID ${g.vmid}`),
              h(
                'div',
                { class: 'card-extra' },
                h('span', { class: ['type', `type-${g.type}`] }, g.type === 'lxc' ? 'LXC' : 'VM'),
                statusBadge(g.status),
                g.template ? h('span', { class: 'badge badge-muted' }, 'template') : null,
                g.gone ? h('span', { class: 'badge badge-crit' }, 'gone') : null,
              ),
            ),
            h(
              'dl',
              { class: 'facts' },
              fact('VMID', String(g.vmid)),
              fact(
                'Node',
                g.node_id ? h('a', { href: `#/node/${encodeURIComponent(g.node_id)}` }, g.node) : g.node,
              ),
              fact('Cluster', g.cluster_name),
              fact('Cores', g.cpu_cores === null ? '–' : String(g.cpu_cores)),
              fact('Memory', g.memory_mb === null ? '–' : fmtBytes(g.memory_mb * 1048576)),
              fact('Uptime', g.status === 'running' ? fmtDuration(g.uptime_seconds) : '–'),
              fact('OS type', cfg.ostype ? String(cfg.ostype) : '–'),
              fact('Tags', g.tags.length ? g.tags.map((t) => h('span', { class: 'tag' }, t)) : '–'),
              fact('Last report', ago(g.last_seen)),
              fact('First seen', ago(g.first_seen)),
            ),
          ),
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
              history.length
                ? h(
                    'ol',
                    { class: 'timeline' },
                    history.map((x) =>
                      h(
                        'li',
                        { class: 'simple' },
                        h('span', { class: 'ev-msg' }, x.text),
                        ago(x.ts, 'ev-time muted'),
                      ),
                    ),
                  )
                : emptyState('No changes recorded.'),
            ),
          ),
        ]);
      };
      return { refresh };
    },
  },

  events: {
    mount(root) {
      let limit = 50;
      const out = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
      const more = h('div', { class: 'pager' });
      root.appendChild(card('Events', h('span', { class: 'muted small' }, 'newest first'), out, more));
      const refresh = async () => {
        const r = await api(`/api/events${qs({ limit })}`);
        clear(out);
        clear(more);
        out.appendChild(r.total === 0 ? noDataYet() : eventList(r.data));
        if (r.data.length < r.total && limit < 1000) {
          const b = h('button', { type: 'button', class: 'btn' }, 'Show more');
          b.addEventListener('click', () => {
            limit = Math.min(1000, limit + 50);
            void refresh().catch(showError);
          });
          append(more, [h('span', { class: 'muted' }, `${r.data.length} of ${r.total}`), b]);
        }
      };
      return { refresh };
    },
  },
};

function stat(label, value, sub, level, href) {
  const inner = [
    h('span', { class: 'stat-label' }, label),
    h('span', { class: 'stat-value' }, value),
    h('span', { class: 'stat-sub' }, sub),
  ];
  return href ? h('a', { class: ['stat', level], href }, inner) : h('div', { class: ['stat', level] }, inner);
}

function fact(label, value) {
  return h('div', null, h('dt', null, label), h('dd', null, value));
}

function guestTable(list, withCluster) {
  const rows = list.map((g) =>
    h(
      'tr',
      { class: g.gone ? 'row-offline' : null },
      h('td', { class: 'num' }, String(g.vmid)),
      h(
        'td',
        null,
        h(
          'a',
          { href: `#/guest/${encodeURIComponent(g.id)}`, class: 'guest-link' },
          g.name || `VMID ${g.vmid}`,
        ),
        g.template ? h('span', { class: 'badge badge-muted' }, 'template') : null,
      ),
      h('td', null, h('span', { class: ['type', `type-${g.type}`] }, g.type === 'lxc' ? 'LXC' : 'VM')),
      h('td', null, statusBadge(g.status)),
      withCluster
        ? h(
            'td',
            { class: 'nowrap' },
            g.node_id ? h('a', { href: `#/node/${encodeURIComponent(g.node_id)}` }, g.node) : g.node,
          )
        : null,
      withCluster ? h('td', { class: 'nowrap' }, g.cluster_name) : null,
      h('td', { class: 'num' }, g.cpu_cores === null ? '–' : String(g.cpu_cores)),
      h('td', { class: 'num' }, g.memory_mb === null ? '–' : fmtBytes(g.memory_mb * 1048576)),
      h('td', { class: 'num' }, g.status === 'running' ? fmtDuration(g.uptime_seconds) : '–'),
      h(
        'td',
        null,
        g.tags.map((t) => h('span', { class: 'tag' }, t)),
      ),
      h('td', null, ago(g.last_seen)),
    ),
  );
  return table(
    [
      { label: 'VMID', cls: 'num' },
      'Name',
      'Type',
      'Status',
      withCluster ? 'Node' : null,
      withCluster ? 'Cluster' : null,
      { label: 'Cores', cls: 'num' },
      { label: 'Memory', cls: 'num' },
      { label: 'Uptime', cls: 'num' },
      'Tags',
      'Last seen',
    ].filter(Boolean),
    rows,
    'guests',
  );
}

/**
 * The shortest range (up to 24 h) that holds the node's whole history, so a fresh install does not
 * open on a 24-hour chart with its data squeezed against the right edge. Two one-sample probes ask
 * whether anything is older than 6 h, then 1 h (the API answers the newest samples of a window).
 */
async function fittingRange(enc, to) {
  const older = async (ms) => {
    const r = await api(
      `/api/nodes/${enc}${qs({ from: new Date(to.getTime() - RANGES['7d']).toISOString(), to: new Date(to.getTime() - ms).toISOString(), limit: 1 })}`,
    );
    return r.data.history.samples.length > 0;
  };
  if (await older(RANGES['6h'])) return '24h';
  return (await older(RANGES['1h'])) ? '6h' : '1h';
}

// ------------------------------------------------------------------ shell: login, routing, refresh

// range: the node history range the user picked (null: fit it to the node's history)
const state = { user: null, view: null, busy: false, range: null, timer: null };

function setAlertCount(n) {
  const el = $('nav-alerts');
  el.textContent = String(n);
  el.hidden = n === 0;
}

function setRefreshState(text, bad) {
  const el = $('refresh-state');
  el.textContent = text;
  el.classList.toggle('bad', !!bad);
}

function showError(err) {
  if (err && err.status === 401) return showLogin();
  setRefreshState(`update failed: ${err && err.message ? err.message : String(err)}`, true);
}

function route() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  if ((parts[0] === 'node' || parts[0] === 'guest') && parts[1])
    return { name: parts[0], params, id: decodeURIComponent(parts[1]) };
  if (parts[0] && views[parts[0]] && parts[0] !== 'node' && parts[0] !== 'guest')
    return { name: parts[0], params };
  return { name: 'overview', params };
}

async function refreshNow() {
  if (!state.view || state.busy) return;
  state.busy = true;
  const view = state.view;
  try {
    await view.refresh();
    if (view === state.view) setRefreshState(`updated ${timeFmt.format(new Date())}`);
  } catch (err) {
    showError(err);
  } finally {
    state.busy = false;
  }
}

function render() {
  if (!state.user) return;
  const r = route();
  const main = clear($('main'));
  for (const a of document.querySelectorAll('#nav a')) {
    const on = a.dataset.view === ({ node: 'overview', guest: 'guests' }[r.name] || r.name);
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  state.view = views[r.name].mount(main, r.params, r.id);
  state.busy = false;
  void refreshNow();
}

function showApp(user) {
  state.user = user;
  $('user-name').textContent = user.username;
  $('nav').hidden = false;
  $('session').hidden = false;
  render();
  if (!state.timer)
    state.timer = setInterval(() => {
      if (!document.hidden) void refreshNow();
    }, REFRESH_MS);
}

function showLogin(message) {
  state.user = null;
  state.view = null;
  $('nav').hidden = true;
  $('session').hidden = true;
  const main = clear($('main'));
  const err = h('p', { class: 'form-error', role: 'alert', hidden: !message }, message || '');
  const user = h('input', {
    name: 'username',
    id: 'login-user',
    autocomplete: 'username',
    required: true,
    autofocus: true,
  });
  const pass = h('input', {
    name: 'password',
    id: 'login-pass',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Log in');
  const form = h(
    'form',
    { class: 'login card', id: 'login-form' },
    h('h1', null, 'Log in'),
    h('p', { class: 'muted' }, 'Proxmox VE clusters, nodes and guests reported by nannyagent.'),
    h('label', { for: 'login-user' }, 'Username'),
    user,
    h('label', { for: 'login-pass' }, 'Password'),
    pass,
    err,
    submit,
    h(
      'p',
      { class: 'muted small' },
      'The first admin’s password is printed once when nannyapi starts on an empty database.',
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.hidden = true;
    api('/api/auth/login', { method: 'POST', body: { username: user.value, password: pass.value } })
      .then((r) => showApp(r.user))
      .catch((e2) => {
        err.textContent = e2.message;
        err.hidden = false;
        submit.disabled = false;
        pass.select();
      });
  });
  main.appendChild(form);
  user.focus();
}

async function start() {
  $('logout').addEventListener('click', () => {
    api('/api/auth/logout', { method: 'POST', body: {} })
      .catch(() => null)
      .then(() => showLogin());
  });
  window.addEventListener('hashchange', render);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refreshNow();
  });
  try {
    const me = await api('/api/auth/me');
    showApp(me.user);
  } catch (err) {
    showLogin(err.status === 401 || err.status === 403 ? '' : err.message);
  }
}

void start();
