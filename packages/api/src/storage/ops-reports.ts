/** Reads of the latest operations reports (issue 15; written by ingest-ops.ts). */
import type { Kysely } from 'kysely';
import type { StorageHandle } from './storage.ts';
import type { CoreDatabase } from './types.ts';

export interface OpsReportRow {
  cluster_id: string;
  cluster_name: string;
  node: string;
  reporter: string;
  received_at: string;
  payload: Record<string, unknown>;
}

export interface OpsReportStore {
  latest(
    tenantId: string,
    kind: string,
    filter?: { clusterId?: string; node?: string },
  ): Promise<OpsReportRow[]>;
}

export function createOpsReportStore(h: StorageHandle): OpsReportStore {
  const db = h.db as Kysely<CoreDatabase>;
  return {
    async latest(tenantId, kind, filter = {}) {
      let q = db
        .selectFrom('ops_reports as o')
        .innerJoin('clusters as c', 'c.id', 'o.cluster_id')
        .select([
          'o.cluster_id',
          'c.name as cluster_name',
          'o.node',
          'o.reporter',
          'o.received_at',
          'o.payload',
        ])
        .where('o.tenant_id', '=', tenantId)
        .where('o.kind', '=', kind);
      if (filter.clusterId !== undefined) q = q.where('o.cluster_id', '=', filter.clusterId);
      if (filter.node !== undefined) q = q.where('o.reporter', '=', filter.node);
      const rows = await q.orderBy('c.name').orderBy('o.node').execute();
      return rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) as Record<string, unknown> }));
    },
  };
}
