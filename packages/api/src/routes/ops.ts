/**
 * /healthz, /readyz and Prometheus /metrics. The exposition is prom-client's (escaping of label
 * values — node and guest names come from the fleet and may hold quotes, backslashes or newlines —
 * is its job, not ours); a fresh Registry per scrape, so nothing is kept at module level and the
 * fleet numbers are read from storage as they are now.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { StatusResponse } from '@nanny/schema';
import { Counter, Gauge, Registry } from 'prom-client';
import { ErrorRef, replies } from './schemas.ts';
import type { AuthHelpers } from '../auth/auth.ts';
import type { Storage } from '../storage/storage.ts';
import type { GroupCommitter } from '../ingest/committer.ts';
import type { IngestCounters } from '../ingest/routes.ts';
import type { Leadership } from '../leader.ts';

/** /readyz: the spec-style status plus this replica's role among replicas (issue 14) */
const ReadyResponse = Type.Object({
  ...StatusResponse.properties,
  database: Type.Literal('ok'),
  role: Type.Union([Type.Literal('leader'), Type.Literal('follower')], {
    description: 'leader: this replica evaluates alerts and runs the timer rules',
  }),
  leader_epoch: Type.Optional(
    Type.Integer({ description: 'the leadership term this replica leads in (leader only)' }),
  ),
});

export interface ServerCounters {
  requests: Map<string, number>;
  started: number;
}

type Labels = Record<string, string | number>;

type Sample = [Labels, number | null | undefined];

/** One scrape's metrics: families in the order they are declared, samples without a value skipped. */
class Scrape {
  readonly registry = new Registry();
  gauge(name: string, help: string, samples: readonly Sample[]): void {
    const labelNames = labelNamesOf(samples);
    const values = valued(samples);
    if (skip(labelNames, values)) return;
    const g = new Gauge({ name, help, labelNames, registers: [this.registry] });
    for (const [labels, value] of values) g.set(labels, value);
  }
  counter(name: string, help: string, samples: readonly Sample[]): void {
    const labelNames = labelNamesOf(samples);
    const values = valued(samples);
    if (skip(labelNames, values)) return;
    const c = new Counter({ name, help, labelNames, registers: [this.registry] });
    for (const [labels, value] of values) c.inc(labels, value);
  }
}

/**
 * prom-client shows a metric without labels as 0 before it is set; a fleet without clusters must not
 * look like a cluster without quorum, so such a family is left out (no series, as before).
 */
function skip(labelNames: readonly string[], values: readonly unknown[]): boolean {
  return labelNames.length === 0 && values.length === 0;
}

function labelNamesOf(samples: readonly Sample[]): string[] {
  return [...new Set(samples.flatMap(([labels]) => Object.keys(labels)))];
}

/**
 * prom-client escapes what the format can escape (\\, \" and newline); other control characters have
 * no escape in the text format and split the line for readers that break on \r, U+2028 etc., so
 * they become U+FFFD. The names come from the fleet (a node or guest name) and no real one has them.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

function valued(samples: readonly Sample[]): [Labels, number][] {
  const out: [Labels, number][] = [];
  for (const [labels, value] of samples) {
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const clean: Labels = {};
    for (const [k, v] of Object.entries(labels))
      clean[k] = typeof v === 'string' ? v.replace(CONTROL, '\ufffd') : v;
    out.push([clean, value]);
  }
  return out;
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
    leader: Pick<Leadership, 'role' | 'epoch' | 'poll'>;
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
        summary: 'Readiness: the database answers; this replica’s role (leader evaluates alerts)',
        response: { 200: ReadyResponse, 503: ErrorRef, default: ErrorRef },
      },
    },
    async (_req, reply) => {
      try {
        await storage.ping();
        // A leader that was paused (SIGSTOP, a long GC, a frozen VM) wakes up still believing it
        // leads until its next lock check, up to LEADER_RETRY_MS later, while its successor already
        // says `leader`: the load balancer and the operator would see two. The answer checks the
        // lock first, so a deposed replica says `follower` from its first answer on.
        if (deps.leader.role() === 'leader') await deps.leader.poll();
        const epoch = deps.leader.epoch();
        return {
          success: true as const,
          status: 'ready',
          database: 'ok',
          role: deps.leader.role(),
          ...(epoch !== undefined ? { leader_epoch: epoch } : {}),
        };
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
          'Prometheus metrics of your organisation’s fleet, and of this server for the `default` organisation (personal token, read scope)',
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
      const m = new Scrape();
      const clusterName = new Map(fleet.clusters.map((c) => [c.id, c.cluster_name]));
      const cl = (c: (typeof fleet.clusters)[number]) => ({ cluster: c.cluster_name, cluster_id: c.id });

      // derived from every reporter's fresh view (as GET /api/clusters), not the last report
      const quorate = await storage.membershipQuorate(tenantId, deps.now().toISOString());
      m.gauge(
        'nanny_cluster_quorate',
        '1 when the cluster is quorate',
        fleet.clusters.filter((c) => !c.standalone).map((c) => [cl(c), quorate.get(c.id) ?? c.quorate]),
      );
      m.gauge(
        'nanny_cluster_nodes',
        'configured node count as the cluster reports it',
        fleet.clusters.map((c) => [cl(c), c.nodes ?? c.nodes_reporting]),
      );
      m.gauge(
        'nanny_cluster_nodes_online',
        'nodes known online',
        fleet.clusters.map((c) => [cl(c), c.nodes_online]),
      );

      const nodeGauge = (
        name: string,
        help: string,
        pick: (n: (typeof fleet.nodes)[number]) => number | null,
      ) =>
        m.gauge(
          name,
          help,
          fleet.nodes.map((n) => [{ cluster: n.cluster_name, node: n.name }, pick(n)]),
        );
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

      m.gauge(
        'nanny_guest_running',
        '1 when the guest status is "running"; label status has the raw status',
        fleet.guests.map((g) => [
          {
            cluster: clusterName.get(g.cluster_id) ?? '',
            node: g.node,
            vmid: g.vmid,
            type: g.type,
            name: g.name ?? '',
            status: g.status,
          },
          g.status === 'running' ? 1 : 0,
        ]),
      );

      // This server's own figures (all organisations' traffic together) are the operator's: shown
      // to the organisation created at first start ('default') only, not to every tenant.
      if ((await storage.tenantById(tenantId))?.name !== 'default') {
        reply.header('content-type', m.registry.contentType);
        return m.registry.metrics();
      }
      const cs = deps.committer.stats();
      m.counter(
        'nannyapi_ingest_reports_total',
        'reports committed, by kind',
        Object.entries(deps.ingest.accepted).map(([kind, n]) => [{ kind }, n]),
      );
      m.counter(
        'nannyapi_ingest_rejected_total',
        'reports refused after authentication (revoked, storage error)',
        [[{}, deps.ingest.rejected]],
      );
      m.counter('nannyapi_ingest_batches_total', 'group-commit transactions', [[{}, cs.batches]]);
      m.gauge('nannyapi_ingest_batch_max', 'largest group-commit batch so far', [[{}, cs.maxBatch]]);
      m.counter(
        'nannyapi_http_responses_total',
        'responses by status code',
        [...deps.server.requests].map(([code, n]) => [{ code }, n]),
      );
      const mem = process.memoryUsage();
      m.gauge('process_resident_memory_bytes', 'resident set size', [[{}, mem.rss]]);
      m.gauge('nodejs_heap_used_bytes', 'V8 heap in use', [[{}, mem.heapUsed]]);
      const cpu = process.cpuUsage();
      m.counter('process_cpu_seconds_total', 'user + system CPU time', [[{}, (cpu.user + cpu.system) / 1e6]]);
      m.gauge('process_start_time_seconds', 'start time of the process', [
        [{}, Math.floor(deps.server.started / 1000)],
      ]);
      reply.header('content-type', m.registry.contentType);
      return m.registry.metrics();
    },
  );
}
