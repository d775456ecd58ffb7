/**
 * Storage and backups (issue 15): GET /api/storage (a shared pool once per cluster, node null) and
 * GET /api/backups. A server older than those routes answers 404: the page says so instead of
 * failing. Backups are shown field by field as the server sends them.
 */
import { optional, type Json } from '../api.ts';
import { ago, badge, bar, card, emptyState, loading, table } from '../components.ts';
import { fill, h, type Child } from '../dom.ts';
import { fmtBytes, fmtTime } from '../format.ts';
import type { Mount } from '../view.ts';

const NOT_HERE = 'Not available on this server (this nannyapi has no such route yet).';

interface StorageRow {
  cluster: string;
  node: string | null;
  storage: string;
  type: string;
  shared: boolean | number;
  used_bytes: number | null;
  total_bytes: number | null;
  fill_ratio: number | null;
  days_until_full: number | null;
}

const list = <T>(r: { data?: T[] } | T[] | null): T[] | null =>
  r === null ? null : Array.isArray(r) ? r : (r.data ?? []);

export const storage: Mount = (root) => {
  const out = h('div', null, loading());
  root.appendChild(card('Storage', h('span', { class: 'muted small' }, 'fullest first'), out));
  return {
    // a storage report comes with each full cycle, beside the node report
    wants: (c) => c.kinds.includes('storage') || c.kinds.includes('node'),
    async refresh() {
      const rows = list(await optional<{ data: StorageRow[] }>('/api/storage'));
      if (rows === null) return fill(out, emptyState(NOT_HERE));
      if (rows.length === 0) return fill(out, emptyState('No storage reported yet.'));
      const sorted = [...rows].sort((a, b) => (b.fill_ratio ?? -1) - (a.fill_ratio ?? -1));
      fill(
        out,
        table(
          [
            'Storage',
            'Type',
            'Cluster',
            'Node',
            { label: 'Used', cls: 'col-bar' },
            { label: 'Full in', cls: 'num' },
          ],
          sorted.map((s) =>
            h(
              'tr',
              null,
              h('td', null, s.storage, s.shared ? badge('shared', 'badge-muted') : null),
              h('td', null, s.type),
              h('td', null, s.cluster),
              h('td', null, s.node ?? '–'),
              h(
                'td',
                { class: 'col-bar' },
                bar(
                  s.fill_ratio,
                  s.used_bytes === null
                    ? undefined
                    : `${fmtBytes(s.used_bytes)} / ${fmtBytes(s.total_bytes)}`,
                ),
              ),
              h(
                'td',
                { class: ['num', s.days_until_full !== null && s.days_until_full < 14 ? 'stale' : null] },
                s.days_until_full === null ? '–' : `${Math.round(s.days_until_full)} d`,
              ),
            ),
          ),
          'storage',
        ),
      );
    },
  };
};

function value(k: string, v: unknown): Child {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number' && /bytes/.test(k)) return fmtBytes(v);
  if (typeof v === 'string' && /(_at|time|^ts)$/.test(k) && !Number.isNaN(Date.parse(v))) return ago(v);
  if (typeof v === 'number' && /(_at|time)$/.test(k) && v > 1e9) return fmtTime(v * 1000);
  return typeof v === 'object' ? JSON.stringify(v) : String(v as string);
}

export const backups: Mount = (root) => {
  const out = h('div', null, loading());
  root.appendChild(card('Backups', null, out));
  return {
    wants: (c) => c.kinds.includes('backups') || c.kinds.includes('node') || c.kinds.includes('cluster'),
    async refresh() {
      // GET /api/backups answers { guests: [...], failed_tasks: [...] }: one row per guest
      const r = await optional<{ data: { guests?: Json[] } | Json[] }>('/api/backups');
      const rows = r === null ? null : Array.isArray(r.data) ? r.data : (r.data.guests ?? []);
      if (rows === null) return fill(out, emptyState(NOT_HERE));
      if (rows.length === 0) return fill(out, emptyState('No backups reported yet.'));
      const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))]
        .filter((k) => !/^(id|tenant_id)$/.test(k))
        .slice(0, 10);
      fill(
        out,
        table(
          keys.map((k) => k.replaceAll('_', ' ')),
          rows.slice(0, 1000).map((r) =>
            h(
              'tr',
              null,
              keys.map((k) => h('td', null, value(k, r[k]))),
            ),
          ),
          'backups',
        ),
      );
    },
  };
};
