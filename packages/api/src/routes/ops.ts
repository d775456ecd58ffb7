/** /healthz, /readyz and Prometheus /metrics (text exposition format 0.0.4, written by hand). */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { StatusResponse } from '@nanny/schema';
import { ErrorRef, replies } from './schemas.ts';
import type { AuthHelpers } from '../auth/auth.ts';
import type { Storage } from '../storage/storage.ts';
import type { GroupCommitter } from '../ingest/committer.ts';
import type { IngestCounters } from '../ingest/routes.ts';

export interface ServerCounters {
  requests: Map<string, number>;
  started: number;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

class Exposition {
  private lines: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string) {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Record<string, string | number>, value: number | null | undefined) {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${esc(String(v))}"`)
      .join(',');
    this.lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
  }
  text() {
    return this.lines.join('\n') + '\n';
  }
}

export async function opsRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    auth: AuthHelpers;
    committer: GroupCommitter;
    ingest: IngestCounters;
    server: ServerCounters;
    now: () => Date;
  },
) {
  const { storage, auth } = deps;
  app.get(
    '/healthz',
    {
      schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: replies(StatusResponse) },
    },
    async () => ({
      success: true as const,
      status: 'ok',
    }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: the database answers',
        response: { 200: StatusResponse, 503: ErrorRef, default: ErrorRef },
      },
    },
    async (_req, reply) => {
      try {
        await storage.ping();
        return { success: true as const, status: 'ready' };
      } catch (err) {
        app.log.warn({ err }, 'readiness check failed');
        return reply
          .code(503)
          .send({ success: false, error: 'unavailable', error_description: 'database unreachable' });
      }
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary:
          'Prometheus metrics of your organisation’s fleet and of this server (personal token, read scope)',
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          default: ErrorRef,
        },
      },
      preHandler: auth.requireToken('read'),
    },
    async (req, reply) => {
      const tenantId = auth.principal(req).tenantId;
      const fleet = await storage.fleet(tenantId);
      const m = new Exposition();
      const clusterName = new Map(fleet.clusters.map((c) => [c.id, c.cluster_name]));

      m.family('nanny_cluster_quorate', 'gauge', '1 when the cluster is quorate');
      for (const c of fleet.clusters)
        if (!c.standalone)
          m.sample('nanny_cluster_quorate', { cluster: c.cluster_name, cluster_id: c.id }, c.quorate);
      m.family('nanny_cluster_nodes', 'gauge', 'configured node count as the cluster reports it');
      for (const c of fleet.clusters)
        m.sample(
          'nanny_cluster_nodes',
          { cluster: c.cluster_name, cluster_id: c.id },
          c.nodes ?? c.nodes_reporting,
        );
      m.family('nanny_cluster_nodes_online', 'gauge', 'nodes known online');
      for (const c of fleet.clusters)
        m.sample('nanny_cluster_nodes_online', { cluster: c.cluster_name, cluster_id: c.id }, c.nodes_online);

      const nl = (n: (typeof fleet.nodes)[number]) => ({ cluster: n.cluster_name, node: n.name });
      const nodeGauge = (
        name: string,
        help: string,
        pick: (n: (typeof fleet.nodes)[number]) => number | null,
      ) => {
        m.family(name, 'gauge', help);
        for (const n of fleet.nodes) m.sample(name, nl(n), pick(n));
      };
      nodeGauge('nanny_node_online', '1 when the node is online', (n) => n.online);
      nodeGauge('nanny_node_cpu_usage_ratio', 'CPU busy share 0..1', (n) => n.cpu_usage_ratio);
      nodeGauge('nanny_node_memory_used_bytes', 'memory used', (n) => n.mem_used_bytes);
      nodeGauge('nanny_node_memory_total_bytes', 'memory total', (n) => n.mem_total_bytes);
      nodeGauge('nanny_node_rootfs_used_bytes', 'root filesystem used', (n) => n.rootfs_used_bytes);
      nodeGauge('nanny_node_rootfs_total_bytes', 'root filesystem size', (n) => n.rootfs_total_bytes);
      nodeGauge('nanny_node_load1', 'load average, 1 minute', (n) => n.load_avg_1m);
      nodeGauge('nanny_node_uptime_seconds', 'seconds since boot', (n) => n.uptime_seconds);
      nodeGauge('nanny_node_last_report_timestamp_seconds', 'when the node last reported', (n) =>
        n.last_report ? Date.parse(n.last_report) / 1000 : null,
      );

      m.family(
        'nanny_guest_running',
        'gauge',
        '1 when the guest status is "running"; label status has the raw status',
      );
      for (const g of fleet.guests)
        m.sample(
          'nanny_guest_running',
          {
            cluster: clusterName.get(g.cluster_id) ?? '',
            node: g.node,
            vmid: g.vmid,
            type: g.type,
            name: g.name ?? '',
            status: g.status,
          },
          g.status === 'running' ? 1 : 0,
        );

      const cs = deps.committer.stats();
      m.family('nannyapi_ingest_reports_total', 'counter', 'reports committed, by kind');
      for (const [kind, n] of Object.entries(deps.ingest.accepted))
        m.sample('nannyapi_ingest_reports_total', { kind }, n);
      m.family(
        'nannyapi_ingest_rejected_total',
        'counter',
        'reports refused after authentication (revoked, storage error)',
      );
      m.sample('nannyapi_ingest_rejected_total', {}, deps.ingest.rejected);
      m.family('nannyapi_ingest_batches_total', 'counter', 'group-commit transactions');
      m.sample('nannyapi_ingest_batches_total', {}, cs.batches);
      m.family('nannyapi_ingest_batch_max', 'gauge', 'largest group-commit batch so far');
      m.sample('nannyapi_ingest_batch_max', {}, cs.maxBatch);
      m.family('nannyapi_http_responses_total', 'counter', 'responses by status code');
      for (const [code, n] of deps.server.requests) m.sample('nannyapi_http_responses_total', { code }, n);
      const mem = process.memoryUsage();
      m.family('process_resident_memory_bytes', 'gauge', 'resident set size');
      m.sample('process_resident_memory_bytes', {}, mem.rss);
      m.family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use');
      m.sample('nodejs_heap_used_bytes', {}, mem.heapUsed);
      const cpu = process.cpuUsage();
      m.family('process_cpu_seconds_total', 'counter', 'user + system CPU time');
      m.sample('process_cpu_seconds_total', {}, (cpu.user + cpu.system) / 1e6);
      m.family('process_start_time_seconds', 'gauge', 'start time of the process');
      m.sample('process_start_time_seconds', {}, Math.floor(deps.server.started / 1000));
      reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      return m.text();
    },
  );
}
