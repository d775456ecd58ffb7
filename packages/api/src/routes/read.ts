/** The read API: the overview, clusters, nodes (+ history), guests (+ parsed config and history), events. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  ClusterDetail,
  ClusterMembership,
  ClusterView,
  DataEnvelope,
  FleetEventView,
  GuestDetail,
  GuestView,
  NodeDetail,
  NodeView,
  PageEnvelope,
} from '@nanny/schema';
import { guestDisks, guestNetworks, tagKey, type ConfigMap } from '@nanny/proxmox';
import { derivedQuorate } from '../domain/liveness.ts';
import { apiError } from '../errors.ts';
import type { AuthHelpers } from '../auth/auth.ts';
import type { ClusterView as ClusterRow, NodeView as NodeRow, Storage } from '../storage/storage.ts';
import { IdParam, isoParam, Paging, paging, replies } from './schemas.ts';

const Iso = (description: string) => Type.String({ maxLength: 40, description });

const GuestQuery = Type.Object({
  cluster: Type.Optional(Type.String({ maxLength: 64, description: 'cluster id' })),
  node: Type.Optional(Type.String({ maxLength: 256, description: 'node name or node id' })),
  type: Type.Optional(Type.Union([Type.Literal('lxc'), Type.Literal('qemu')])),
  status: Type.Optional(Type.String({ maxLength: 64 })),
  tag: Type.Optional(Type.String({ maxLength: 128 })),
  q: Type.Optional(Type.String({ maxLength: 256, description: 'name substring or exact VMID' })),
  usage: Type.Optional(
    Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')], {
      description: 'add cpu_usage_ratio, mem_used_bytes, disk_used_bytes from each guest’s last report',
    }),
  ),
  include_gone: Type.Optional(
    Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')]),
  ),
  ...Paging,
});
const NodeQuery = Type.Object({
  from: Type.Optional(Iso('history start, ISO-8601 (default: 24 h before `to`)')),
  to: Type.Optional(Iso('history end, ISO-8601 (default: now)')),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 10000, description: 'max samples (default 2000)' }),
  ),
});
const EventQuery = Type.Object({
  cluster: Type.Optional(Type.String({ maxLength: 64 })),
  node: Type.Optional(Type.String({ maxLength: 64, description: 'node id' })),
  guest: Type.Optional(Type.String({ maxLength: 64, description: 'guest id' })),
  type: Type.Optional(Type.String({ maxLength: 64 })),
  since: Type.Optional(Iso('ISO-8601')),
  until: Type.Optional(Iso('ISO-8601')),
  ...Paging,
});
const ClusterListQuery = Type.Object({
  include_standalone: Type.Optional(
    Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')]),
  ),
});
const OverviewQuery = Type.Object({
  events: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'latest events (default 8)' })),
});
const Overview = Type.Object({
  success: Type.Literal(true),
  data: Type.Object({
    clusters: Type.Array(ClusterView, { description: 'as GET /api/clusters?include_standalone=true' }),
    nodes: Type.Array(NodeView, { description: 'as GET /api/nodes' }),
    guests: Type.Object({
      total: Type.Integer({ description: 'guests not gone' }),
      running: Type.Integer({ description: 'of them with status running' }),
    }),
    events: Type.Array(FleetEventView, { description: 'the newest, as GET /api/events' }),
  }),
});
const ClusterQuery = Type.Object({ cluster: Type.Optional(Type.String({ maxLength: 64 })) });

export async function readRoutes(
  fastify: FastifyInstance,
  deps: { storage: Storage; auth: AuthHelpers; now: () => Date },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage, auth } = deps;
  const read = auth.requireToken('read');
  const tenant = (req: Parameters<AuthHelpers['principal']>[0]) => auth.principal(req).tenantId;
  // Extra fields from the derived membership: a node's state (+ since), a cluster's split summary.
  const withStates = async (tenantId: string, nodes: NodeRow[]) => {
    const states = await storage.membershipStates(tenantId, deps.now().toISOString());
    return nodes.map((n) => {
      const s = states.get(n.cluster_id)?.get(n.name);
      return s ? { ...n, state: s.state, state_since: s.since } : n;
    });
  };
  // `quorate` too: derived from every fresh view (one truth with quorum_lost), not the last report.
  const withSplit = async <C extends ClusterRow>(tenantId: string, c: C) => {
    const m = await storage.clusterMembership(tenantId, c.id, deps.now().toISOString());
    if (!m || m.views.length === 0) return c;
    return {
      ...c,
      quorate: derivedQuorate(m) ?? c.quorate,
      split: m.split,
      partitions: m.partitions.map((p) => ({ nodes: p.nodes, quorate: p.quorate })),
    };
  };

  const clustersOf = async (tenantId: string, includeStandalone: boolean) => {
    const all = await storage.listClusters(tenantId);
    const shown = includeStandalone ? all : all.filter((c) => !c.standalone);
    return Promise.all(shown.map((c) => withSplit(tenantId, c)));
  };

  app.get(
    '/api/overview',
    {
      schema: {
        tags: ['read'],
        summary:
          'What the dashboard’s overview shows, in one answer: clusters (standalone nodes included), nodes, guest counts, the latest events',
        querystring: OverviewQuery,
        response: replies(Overview),
      },
      preHandler: read,
    },
    async (req) => {
      const t = tenant(req);
      const now = deps.now().toISOString();
      // one request instead of six: a browser holds six connections per server and the live
      // stream takes one, so six requests would queue behind each other
      const [clusters, nodes, events, guests, running] = await Promise.all([
        clustersOf(t, true),
        storage.listNodes(t, {}).then((n) => withStates(t, n)),
        storage.listEvents(t, { limit: req.query.events ?? 8, offset: 0 }),
        storage.listGuests(t, { includeGone: false, limit: 1, offset: 0, now }),
        storage.listGuests(t, { status: 'running', includeGone: false, limit: 1, offset: 0, now }),
      ]);
      return {
        success: true as const,
        data: {
          clusters,
          nodes,
          guests: { total: guests.total, running: running.total },
          events: events.data.map((e) => {
            if (e.id === undefined) throw apiError('NANNY_ERR_SERVER', 'event without id');
            return { ...e, id: e.id };
          }),
        },
      };
    },
  );
  app.get(
    '/api/clusters',
    {
      schema: {
        tags: ['read'],
        summary:
          'Clusters; with `include_standalone=true` also standalone nodes (as single-node sites, `standalone: true`)',
        querystring: ClusterListQuery,
        response: replies(DataEnvelope(Type.Array(ClusterView))),
      },
      preHandler: read,
    },
    async (req) => {
      const q = req.query;
      const includeStandalone = q.include_standalone === 'true' || q.include_standalone === '1';
      // A standalone node is its own site internally (DESIGN.md §3), but it is not a cluster: the
      // spec's single-node scenario sends no cluster info, so by default none is listed.
      return { success: true as const, data: await clustersOf(tenant(req), includeStandalone) };
    },
  );
  app.get(
    '/api/clusters/:id',
    {
      schema: {
        tags: ['read'],
        summary: 'One cluster with its nodes',
        params: IdParam,
        response: replies(DataEnvelope(ClusterDetail)),
      },
      preHandler: read,
    },
    async (req) => {
      const { id } = req.params;
      const c = await storage.getCluster(tenant(req), id);
      if (!c) throw apiError('NANNY_ERR_NOT_FOUND', 'No such cluster');
      return {
        success: true as const,
        data: {
          ...(await withSplit(tenant(req), c)),
          node_list: await withStates(tenant(req), await storage.listNodes(tenant(req), { clusterId: id })),
        },
      };
    },
  );
  app.get(
    '/api/clusters/:id/membership',
    {
      schema: {
        tags: ['read'],
        summary:
          'Every reporter’s latest view of the cluster, the partitions (who sees whom) and each node’s derived state',
        params: IdParam,
        response: replies(DataEnvelope(ClusterMembership)),
      },
      preHandler: read,
    },
    async (req) => {
      const m = await storage.clusterMembership(tenant(req), req.params.id, deps.now().toISOString());
      if (!m) throw apiError('NANNY_ERR_NOT_FOUND', 'No such cluster');
      return { success: true as const, data: m };
    },
  );
  app.get(
    '/api/nodes',
    {
      schema: {
        tags: ['read'],
        summary: 'Nodes',
        querystring: ClusterQuery,
        response: replies(DataEnvelope(Type.Array(NodeView))),
      },
      preHandler: read,
    },
    async (req) => {
      const q = req.query;
      return {
        success: true as const,
        data: await withStates(
          tenant(req),
          await storage.listNodes(tenant(req), q.cluster ? { clusterId: q.cluster } : {}),
        ),
      };
    },
  );
  app.get(
    '/api/nodes/:id',
    {
      schema: {
        tags: ['read'],
        summary: 'One node with its status history for a time range',
        params: IdParam,
        querystring: NodeQuery,
        response: replies(DataEnvelope(NodeDetail)),
      },
      preHandler: read,
    },
    async (req) => {
      const { id } = req.params;
      const q = req.query;
      const n = await storage.getNode(tenant(req), id);
      if (!n) throw apiError('NANNY_ERR_NOT_FOUND', 'No such node');
      const to = isoParam('to', q.to) ?? deps.now().toISOString();
      const from = isoParam('from', q.from) ?? new Date(Date.parse(to) - 86400_000).toISOString();
      const limit = q.limit ?? 2000;
      const [history, report] = await Promise.all([
        storage.nodeSamples(tenant(req), id, from, to, limit),
        storage.nodeReport(tenant(req), id),
      ]);
      const [withState] = await withStates(tenant(req), [n]);
      return {
        success: true as const,
        data: { ...(withState ?? n), history: { from, to, samples: history }, report: report ?? {} },
      };
    },
  );
  app.get(
    '/api/guests',
    {
      schema: {
        tags: ['read'],
        summary: 'Guests (LXC and QEMU), filtered and paged',
        querystring: GuestQuery,
        response: replies(PageEnvelope(GuestView)),
      },
      preHandler: read,
    },
    async (req) => {
      const q = req.query;
      const { limit, offset } = paging(q);
      const r = await storage.listGuests(tenant(req), {
        ...(q.cluster ? { clusterId: q.cluster } : {}),
        ...(q.node ? { node: q.node } : {}),
        ...(q.type ? { type: q.type } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.tag ? { tag: tagKey(q.tag) } : {}),
        ...(q.q ? { q: q.q } : {}),
        includeGone: q.include_gone === 'true' || q.include_gone === '1',
        limit,
        offset,
        now: deps.now().toISOString(),
      });
      if (q.usage !== 'true' && q.usage !== '1')
        return { success: true as const, data: r.data, total: r.total, limit, offset };
      const use = await storage.guestUsage(
        tenant(req),
        r.data.map((g) => g.id),
      );
      const none = { cpu_usage_ratio: null, mem_used_bytes: null, disk_used_bytes: null };
      const data = r.data.map((g) => ({ ...g, ...(use.get(g.id) ?? none) }));
      return { success: true as const, data, total: r.total, limit, offset };
    },
  );
  app.get(
    '/api/guests/:id',
    {
      schema: {
        tags: ['read'],
        summary: 'One guest: parsed config, config and status history',
        params: IdParam,
        response: replies(DataEnvelope(GuestDetail)),
      },
      preHandler: read,
    },
    async (req) => {
      const { id } = req.params;
      const g = await storage.getGuest(tenant(req), id);
      if (!g) throw apiError('NANNY_ERR_NOT_FOUND', 'No such guest');
      const { report, ...rest } = g;
      const config = (
        report['config'] && typeof report['config'] === 'object' ? report['config'] : {}
      ) as Record<string, unknown>;
      const scalar: ConfigMap = {};
      for (const [k, v] of Object.entries(config))
        if (typeof v === 'string' || typeof v === 'number') scalar[k] = v;
      // Prefer what the agent parsed on the node; parse the raw config for senders that do not.
      const networks = Array.isArray(report['networks'])
        ? report['networks']
        : guestNetworks(g.type, scalar).data;
      const disks = Array.isArray(report['disks']) ? report['disks'] : guestDisks(g.type, scalar).data;
      return { success: true as const, data: { ...rest, config, networks, disks, report } };
    },
  );
  app.get(
    '/api/events',
    {
      schema: {
        tags: ['read'],
        summary: 'Events, newest first',
        querystring: EventQuery,
        response: replies(PageEnvelope(FleetEventView)),
      },
      preHandler: read,
    },
    async (req) => {
      const q = req.query;
      const { limit, offset } = paging(q);
      const since = isoParam('since', q.since);
      const until = isoParam('until', q.until);
      const r = await storage.listEvents(tenant(req), {
        ...(q.cluster ? { clusterId: q.cluster } : {}),
        ...(q.node ? { nodeId: q.node } : {}),
        ...(q.guest ? { guestId: q.guest } : {}),
        ...(q.type ? { type: q.type } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        limit,
        offset,
      });
      // Stored events always have an id (FleetEvent's is optional only before it is stored).
      const data = r.data.map((e) => {
        if (e.id === undefined) throw apiError('NANNY_ERR_SERVER', 'event without id');
        return { ...e, id: e.id };
      });
      return { success: true as const, data, total: r.total, limit, offset };
    },
  );
}
