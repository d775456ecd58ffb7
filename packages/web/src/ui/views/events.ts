/** The event timeline, newest first, filtered by type, cluster, node and time. */
import { api, qs, type ClusterView, type FleetEvent, type Page } from '../api.ts';
import { card, eventList, loading, noDataYet } from '../components.ts';
import { append, fill, h } from '../dom.ts';
import type { Mount } from '../view.ts';

const TYPES = [
  'first_seen',
  'went_offline',
  'came_back',
  'upgraded',
  'rebooted',
  'quorum_lost',
  'quorum_regained',
  'node_count_changed',
  'migrated',
  'status_changed',
  'config_changed',
  'gone',
];
const SINCE: [string, string][] = [
  ['', 'Any time'],
  ['3600', 'Last hour'],
  ['86400', 'Last 24 hours'],
  ['604800', 'Last 7 days'],
];

export const events: Mount = (root, ctx, params) => {
  let limit = 50;
  const type = h(
    'select',
    { name: 'type', 'aria-label': 'event type' },
    h('option', { value: '' }, 'All types'),
    TYPES.map((t) => h('option', { value: t }, t.replaceAll('_', ' '))),
  );
  type.value = params.get('type') ?? '';
  const cluster = h(
    'select',
    { name: 'cluster', 'aria-label': 'cluster' },
    h('option', { value: '' }, 'All clusters'),
  );
  const since = h(
    'select',
    { name: 'since', 'aria-label': 'since' },
    SINCE.map(([v, l]) => h('option', { value: v }, l)),
  );
  const out = h('div', null, loading());
  const more = h('div', { class: 'pager' });
  root.appendChild(
    card(
      'Events',
      h('span', { class: 'muted small' }, 'newest first'),
      h('form', { class: 'filters', role: 'search' }, type, cluster, since),
      out,
      more,
    ),
  );
  let clustersLoaded = false;
  const refresh = async () => {
    if (!clustersLoaded) {
      const cl = await api<{ data: ClusterView[] }>('/api/clusters?include_standalone=true');
      append(
        cluster,
        cl.data.map((c) =>
          h('option', { value: c.id }, c.standalone ? `${c.cluster_name} (standalone)` : c.cluster_name),
        ),
      );
      cluster.value = params.get('cluster') ?? '';
      clustersLoaded = true;
    }
    const s = Number(since.value);
    const r = await api<Page<FleetEvent>>(
      `/api/events${qs({
        limit,
        type: type.value,
        cluster: cluster.value,
        since: s ? new Date(Date.now() - s * 1000).toISOString() : '',
      })}`,
    );
    const filtered = type.value || cluster.value || since.value;
    fill(out, r.total === 0 && !filtered ? noDataYet() : eventList(r.data));
    if (r.data.length < r.total && limit < 1000) {
      const b = h('button', { type: 'button', class: 'btn' }, 'Show more');
      b.addEventListener('click', () => {
        limit = Math.min(1000, limit + 50);
        refresh().catch(ctx.fail);
      });
      fill(more, h('span', { class: 'muted' }, `${r.data.length} of ${r.total}`), b);
    } else fill(more);
  };
  for (const sel of [type, cluster, since])
    sel.addEventListener('change', () => {
      limit = 50;
      refresh().catch(ctx.fail);
    });
  return { refresh, wants: (c) => c.events.length > 0 };
};
