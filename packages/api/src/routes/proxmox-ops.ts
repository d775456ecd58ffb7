/**
 * The read API of the operations reports (issue 15): GET /api/backups (one row per guest: last
 * success, last failure, coverage; plus the failed tasks per node), GET /api/ha (per cluster: the
 * manager, node states, resources), GET /api/replication (one row per job). Times are ISO-8601.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DataEnvelope, type ProxmoxBackups, type ProxmoxHa, type ProxmoxReplication } from '@nanny/schema';
import type { AuthHelpers } from '../auth/auth.ts';
import type { Storage } from '../storage/storage.ts';
import { createOpsReportStore } from '../storage/ops-reports.ts';
import { replies } from './schemas.ts';

const iso = (s: number | undefined): string | null =>
  s === undefined ? null : new Date(s * 1000).toISOString();
const S = (description?: string) => Type.String(description ? { description } : {});
const OptS = Type.Union([Type.String(), Type.Null()]);
const OptN = Type.Union([Type.Number(), Type.Null()]);

const Query = Type.Object({
  cluster: Type.Optional(Type.String({ maxLength: 64, description: 'cluster id' })),
  node: Type.Optional(Type.String({ maxLength: 256, description: 'node name' })),
});

const BackupRow = Type.Object({
  cluster_id: S(),
  cluster_name: S(),
  node: S('the node whose task history this is'),
  vmid: Type.Integer(),
  type: OptS,
  name: OptS,
  covered: Type.Boolean({ description: 'a backup job selects the guest' }),
  last_success_at: OptS,
  last_success_size_bytes: OptN,
  last_success_storage: OptS,
  last_failure_at: OptS,
  last_failure_error: OptS,
  failing: Type.Boolean({ description: 'the newest attempt failed' }),
  reported_at: S(),
});
const FailedTaskRow = Type.Object({
  cluster_id: S(),
  cluster_name: S(),
  node: S(),
  upid: S(),
  started_at: S(),
  ended_at: OptS,
  status: S('the task status: the error text'),
  vmid: OptN,
});
const HaRow = Type.Object({
  cluster_id: S(),
  cluster_name: S(),
  master_node: OptS,
  manager_at: OptS,
  reported_by: S(),
  reported_at: S(),
  nodes: Type.Array(Type.Object({ node: S(), state: S() })),
  resources: Type.Array(Type.Object({ sid: S(), vmid: OptN, node: OptS, state: S(), request_state: OptS })),
});
const ReplicationRow = Type.Object({
  cluster_id: S(),
  cluster_name: S(),
  node: S(),
  id: S(),
  guest: Type.Integer(),
  target: S(),
  enabled: Type.Boolean(),
  schedule: OptS,
  last_sync_at: OptS,
  last_try_at: OptS,
  fail_count: Type.Integer(),
  error: OptS,
  duration_seconds: OptN,
  reported_at: S(),
});

export async function proxmoxOpsRoutes(
  fastify: FastifyInstance,
  deps: { storage: Storage; auth: AuthHelpers },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = deps.auth.requireToken('read');
  const store = deps.storage.extend(createOpsReportStore);
  const tenant = (req: Parameters<AuthHelpers['principal']>[0]) => deps.auth.principal(req).tenantId;
  const filter = (q: { cluster?: string | undefined; node?: string | undefined }) => ({
    ...(q.cluster !== undefined ? { clusterId: q.cluster } : {}),
    ...(q.node !== undefined ? { node: q.node } : {}),
  });

  app.get(
    '/api/backups',
    {
      schema: {
        tags: ['read'],
        summary:
          'Backups per guest (last success, last failure, coverage) and the failed vzdump tasks per node',
        querystring: Query,
        response: replies(
          DataEnvelope(
            Type.Object({ guests: Type.Array(BackupRow), failed_tasks: Type.Array(FailedTaskRow) }),
          ),
        ),
      },
      preHandler: read,
    },
    async (req) => {
      const rows = await store.latest(tenant(req), 'backups', filter(req.query));
      const guests = [];
      const failed = [];
      for (const r of rows) {
        const p = r.payload as unknown as ProxmoxBackups;
        const where = { cluster_id: r.cluster_id, cluster_name: r.cluster_name, node: r.node };
        for (const g of p.guests)
          guests.push({
            ...where,
            vmid: g.vmid,
            type: g.type ?? null,
            name: g.name ?? null,
            covered: g.covered,
            last_success_at: iso(g.last_success?.at),
            last_success_size_bytes: g.last_success?.size_bytes ?? null,
            last_success_storage: g.last_success?.storage ?? null,
            last_failure_at: iso(g.last_failure?.at),
            last_failure_error: g.last_failure?.error ?? null,
            failing: g.last_failure !== undefined && g.last_failure.at > (g.last_success?.at ?? 0),
            reported_at: r.received_at,
          });
        for (const t of p.failed_tasks)
          failed.push({
            ...where,
            upid: t.upid,
            started_at: iso(t.starttime)!,
            ended_at: iso(t.endtime),
            status: t.status,
            vmid: t.vmid ?? null,
          });
      }
      return { success: true as const, data: { guests, failed_tasks: failed } };
    },
  );

  app.get(
    '/api/ha',
    {
      schema: {
        tags: ['read'],
        summary: 'HA per cluster: the manager, node states, resources and their CRM state',
        querystring: Query,
        response: replies(DataEnvelope(Type.Array(HaRow))),
      },
      preHandler: read,
    },
    async (req) => {
      const rows = await store.latest(tenant(req), 'ha', { ...filter({ cluster: req.query.cluster }) });
      return {
        success: true as const,
        data: rows.map((r) => {
          const p = r.payload as unknown as ProxmoxHa;
          return {
            cluster_id: r.cluster_id,
            cluster_name: r.cluster_name,
            master_node: p.master_node ?? null,
            manager_at: iso(p.manager_timestamp),
            reported_by: r.reporter,
            reported_at: r.received_at,
            nodes: p.nodes,
            resources: p.resources.map((x) => ({
              sid: x.sid,
              vmid: x.vmid ?? null,
              node: x.node ?? null,
              state: x.state,
              request_state: x.request_state ?? null,
            })),
          };
        }),
      };
    },
  );

  app.get(
    '/api/replication',
    {
      schema: {
        tags: ['read'],
        summary: 'Storage replication jobs: last sync, failures, error',
        querystring: Query,
        response: replies(DataEnvelope(Type.Array(ReplicationRow))),
      },
      preHandler: read,
    },
    async (req) => {
      const rows = await store.latest(tenant(req), 'replication', filter(req.query));
      const data = [];
      for (const r of rows) {
        const p = r.payload as unknown as ProxmoxReplication;
        for (const j of p.jobs)
          data.push({
            cluster_id: r.cluster_id,
            cluster_name: r.cluster_name,
            node: r.node,
            id: j.id,
            guest: j.guest,
            target: j.target,
            enabled: j.enabled,
            schedule: j.schedule ?? null,
            last_sync_at: j.last_sync > 0 ? iso(j.last_sync) : null,
            last_try_at: iso(j.last_try),
            fail_count: j.fail_count,
            error: j.error ?? null,
            duration_seconds: j.duration_seconds ?? null,
            reported_at: r.received_at,
          });
      }
      return { success: true as const, data };
    },
  );
}
