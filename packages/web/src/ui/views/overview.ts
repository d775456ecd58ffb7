/** Overview: figures, one card per cluster (quorum, versions, split), standalone nodes, alerts, events. */
import { api, type Alert, type ClusterView, type FleetEvent, type NodeView } from '../api.ts';
import {
  ago,
  aliveOf,
  badge,
  card,
  duplicateNames,
  emptyState,
  eventList,
  loading,
  majorityVersion,
  noDataYet,
  nodeTable,
  partitionsLine,
  quorumBadge,
  severityBadge,
  siteTag,
  stat,
} from '../components.ts';
import { fill, h } from '../dom.ts';
import { localizeTimes, plural } from '../format.ts';
import type { Mount } from '../view.ts';

/** GET /api/overview (clusters, nodes, guest counts, events in one answer) and the firing alerts */
export const OVERVIEW_READS = ['/api/overview', '/api/alerts?state=firing&limit=1000'] as const;

interface OverviewData {
  clusters: ClusterView[];
  nodes: NodeView[];
  guests: { total: number; running: number };
  events: FleetEvent[];
}

function clusterCard(c: ClusterView, list: NodeView[], dup: boolean): HTMLElement {
  const { distinct } = majorityVersion(list);
  const el = card(
    [
      h('a', { href: `#/cluster/${encodeURIComponent(c.id)}`, class: 'cluster-link' }, c.cluster_name),
      dup ? siteTag(c) : null,
    ],
    [
      quorumBadge(c),
      c.split
        ? badge('partitioned', 'badge-crit', 'the nodes do not all see each other')
        : badge(`${c.nodes_online} / ${c.nodes ?? c.nodes_reporting} nodes online`, 'badge-muted'),
      distinct > 1
        ? badge('version mismatch', 'badge-warn', 'nodes run different pve-manager versions')
        : null,
      h(
        'a',
        { class: 'badge badge-link', href: `#/guests?q=${encodeURIComponent(`cluster:${c.id}`)}` },
        plural(c.guests, 'guest'),
      ),
      h('span', { class: 'muted small' }, 'seen ', ago(c.last_seen)),
    ],
    partitionsLine(c),
    list.length ? nodeTable(list) : emptyState('No node of this cluster has reported yet.'),
  );
  el.classList.add('cluster-card');
  if (c.quorate === 0 || c.split) el.classList.add('card-bad');
  return el;
}

export const overview: Mount = (root, ctx) => {
  const body = h('div', { class: 'stack' }, loading());
  root.appendChild(body);
  return {
    async refresh() {
      const [summary, firing] = await Promise.all([
        api<{ data: OverviewData }>(OVERVIEW_READS[0]),
        api<{ data: Alert[] }>(OVERVIEW_READS[1]),
      ]);
      const { clusters: all, nodes: nodeList, events, guests } = summary.data;
      const byCluster = new Map<string, NodeView[]>();
      for (const n of nodeList) {
        const list = byCluster.get(n.cluster_id) ?? [];
        list.push(n);
        byCluster.set(n.cluster_id, list);
      }
      for (const list of byCluster.values())
        list.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
      const real = all.filter((c) => !c.standalone);
      const standalone = all.filter((c) => c.standalone);
      const online = nodeList.filter((n) => aliveOf(n) === 1).length;
      const alerts = firing.data;
      const crit = alerts.filter((a) => a.severity === 'critical').length;
      const total = nodeList.length;

      const stats = h(
        'div',
        { class: 'stats' },
        stat(
          'Clusters',
          String(real.length),
          standalone.length ? `+ ${standalone.length} standalone` : 'no standalone nodes',
          null,
        ),
        stat(
          'Nodes online',
          `${online} / ${total}`,
          total === 0 ? 'none reported yet' : online < total ? `${total - online} not online` : 'all online',
          online < total ? 'warn' : null,
        ),
        stat('Guests running', `${guests.running} / ${guests.total}`, 'containers and VMs', null, '#/guests'),
        stat(
          'Firing alerts',
          String(alerts.length),
          crit ? `${crit} critical` : alerts.length ? plural(alerts.length, 'warning') : 'all quiet',
          alerts.length ? (crit ? 'crit' : 'warn') : 'ok',
          '#/alerts',
        ),
      );
      const dups = duplicateNames(real);
      const sections: HTMLElement[] = [];
      if (all.length === 0) sections.push(card('Getting started', null, noDataYet()));
      for (const c of real)
        sections.push(clusterCard(c, byCluster.get(c.id) ?? [], dups.has(c.cluster_name)));
      if (standalone.length) {
        const list = standalone.flatMap((c) => byCluster.get(c.id) ?? []);
        sections.push(
          card(
            'Standalone nodes',
            h('span', { class: 'muted small' }, `${plural(standalone.length, 'site')} without a cluster`),
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
        card('Recent events', h('a', { href: '#/events' }, 'timeline →'), eventList(events)),
      );
      fill(body, stats, sections, all.length ? lower : null);
      ctx.setAlertCount(alerts.length);
    },
  };
};
