/**
 * One cluster: its nodes and versions, membership (every reporter's view, the partitions: who sees
 * whom, each node's derived state), and its quorum history from the events.
 */
import {
  api,
  type ClusterMembership,
  type ClusterView,
  type FleetEvent,
  type NodeView,
  type Page,
} from '../api.ts';
import {
  ago,
  badge,
  card,
  emptyState,
  eventList,
  fact,
  loading,
  majorityVersion,
  nodeTable,
  partitionsLine,
  quorumBadge,
  table,
} from '../components.ts';
import { fill, h } from '../dom.ts';
import { plural, shortVersion } from '../format.ts';
import type { Mount } from '../view.ts';

const QUORUM_EVENTS = new Set(['quorum_lost', 'quorum_regained', 'node_count_changed']);

function stateBadge(state: string): HTMLElement {
  const cls = state === 'online' ? 'badge-ok' : state === 'offline' ? 'badge-crit' : 'badge-warn';
  return h('span', { class: ['badge', cls], 'data-state': state }, state);
}

function membershipCard(m: ClusterMembership): HTMLElement {
  const partitions = m.partitions.map((p) =>
    h(
      'li',
      { class: ['partition', p.quorate ? 'quorate' : null] },
      h('strong', null, `{${p.nodes.join(', ')}}`),
      ' ',
      p.quorate ? badge('quorate', 'badge-ok') : badge('no quorum', 'badge-crit'),
      h('span', { class: 'muted small' }, ` reported by ${p.reporters.join(', ') || 'nobody'}`),
    ),
  );
  const nodes = m.nodes.map((n) =>
    h(
      'tr',
      null,
      h('th', { scope: 'row' }, n.name),
      h(
        'td',
        null,
        stateBadge(n.state),
        n.since ? h('span', { class: 'muted small block' }, 'since ', ago(n.since)) : null,
      ),
      h('td', null, n.seen_online_by.join(', ') || '–'),
      h('td', null, n.seen_offline_by.join(', ') || '–'),
      h(
        'td',
        null,
        n.reporting ? 'yes' : 'no',
        n.last_report ? h('span', { class: 'muted small block' }, ago(n.last_report)) : null,
      ),
    ),
  );
  const views = m.views.map((v) =>
    h(
      'tr',
      { class: v.fresh ? null : 'row-offline' },
      h('th', { scope: 'row' }, v.reporter),
      h(
        'td',
        null,
        v.members
          .filter((x) => x.online)
          .map((x) => x.name)
          .join(', ') || '–',
      ),
      h(
        'td',
        null,
        v.members
          .filter((x) => !x.online)
          .map((x) => x.name)
          .join(', ') || '–',
      ),
      h('td', null, v.quorate ? 'yes' : 'no'),
      h('td', null, ago(v.received_at), v.fresh ? null : h('span', { class: 'muted small block' }, 'stale')),
    ),
  );
  return card(
    'Membership — who sees whom',
    m.split ? badge('partitioned', 'badge-crit') : badge('one partition', 'badge-ok'),
    m.partitions.length
      ? h('ul', { class: 'partitions-list' }, partitions)
      : emptyState('No member lists reported yet.'),
    nodes.length
      ? table(['Node', 'State', 'Seen online by', 'Seen offline by', 'Agent reporting'], nodes, 'membership')
      : null,
    views.length
      ? table(['Reporter', 'Sees online', 'Sees offline', 'Quorate', 'Received'], views, 'views')
      : null,
  );
}

export const cluster: Mount = (root, _ctx, _params, id) => {
  const out = h('div', { class: 'stack' }, loading());
  root.append(h('a', { href: '#/', class: 'back' }, '← Overview'), out);
  const enc = encodeURIComponent(id);
  return {
    wants: (c) => c.clusters.includes(id),
    async refresh() {
      const [c, m, ev] = await Promise.all([
        api<{ data: ClusterView & { node_list: NodeView[] } }>(`/api/clusters/${enc}`),
        api<{ data: ClusterMembership }>(`/api/clusters/${enc}/membership`),
        api<Page<FleetEvent>>(`/api/events?cluster=${enc}&limit=200`),
      ]);
      const cl = c.data;
      const nodes = cl.node_list
        .slice()
        .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
      const versions = new Map<string, string[]>();
      for (const n of nodes) {
        const v = shortVersion(n.pve_version) ?? 'unknown';
        versions.set(v, [...(versions.get(v) ?? []), n.name]);
      }
      const { version: major } = majorityVersion(nodes);
      const quorum = ev.data.filter((e) => QUORUM_EVENTS.has(e.type));
      const head = card(
        [cl.cluster_name],
        [
          quorumBadge(cl),
          cl.split ? badge('partitioned', 'badge-crit') : null,
          badge(plural(nodes.length, 'node'), 'badge-muted'),
        ],
        partitionsLine(cl),
        h(
          'dl',
          { class: 'facts' },
          fact('Cluster id', cl.id),
          fact('Fingerprint', cl.fingerprint ?? '–'),
          fact('Nodes (configured)', cl.nodes === null ? '–' : String(cl.nodes)),
          fact('Online', `${cl.nodes_online} / ${cl.nodes ?? cl.nodes_reporting}`),
          fact('Config version', cl.version === null ? '–' : String(cl.version)),
          fact(
            'Guests',
            h('a', { href: `#/guests?q=${encodeURIComponent(`cluster:${cl.id}`)}` }, String(cl.guests)),
          ),
          fact('First seen', ago(cl.first_seen)),
          fact('Last report', ago(cl.last_seen)),
        ),
      );
      if (cl.quorate === 0 || cl.split) head.classList.add('card-bad');
      fill(
        out,
        head,
        card('Nodes', null, nodes.length ? nodeTable(nodes) : emptyState('No node has reported yet.')),
        membershipCard(m.data),
        h(
          'div',
          { class: 'grid-2' },
          card(
            'Versions',
            versions.size > 1 ? badge('version mismatch', 'badge-warn') : null,
            table(
              ['pve-manager', 'Nodes'],
              [...versions].map(([v, names]) =>
                h(
                  'tr',
                  null,
                  h('td', { class: ['version', v !== major ? 'mismatch' : null] }, v),
                  h('td', null, names.join(', ')),
                ),
              ),
              'versions',
            ),
          ),
          card(
            'Quorum history',
            null,
            quorum.length ? eventList(quorum) : emptyState('No quorum change recorded.'),
          ),
        ),
        card('Events', null, eventList(ev.data.slice(0, 30))),
      );
    },
  };
};
