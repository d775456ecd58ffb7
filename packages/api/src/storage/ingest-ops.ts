/**
 * Ingest, operations part (issue 15): an ops report (backups, ha, replication) replaces the
 * previous one of its node and kind. HA is cluster-wide: stored once per cluster (node ''), and a
 * report whose manager timestamp is older than the stored one is a stale view (a node that has not
 * seen the master's latest write) and is not kept; `stale` tells the alert listener to skip it.
 */
import type { OpsKind } from '@nanny/schema';
import { findSite, siteOf } from './ingest-site.ts';
import { num, str, type JobContext } from './ingest-context.ts';
import type { IngestApplied, IngestRefused } from './storage.ts';

const CLUSTER_WIDE: ReadonlySet<string> = new Set(['ha']);

export async function applyOps(c: JobContext, kind: OpsKind): Promise<IngestApplied | IngestRefused> {
  const reporter = String(c.p['node']);
  // A fresh agent's first report may be this one: a new cluster counts against the quota (M7).
  if (!(await findSite(c, reporter))) {
    const over = await c.overQuota({ clusters: 1 }, `new cluster of node ${reporter}`);
    if (over) return over;
  }
  const site = await siteOf(c, reporter, false);
  const node = CLUSTER_WIDE.has(kind) ? '' : reporter;
  const version = kind === 'ha' ? num(c.p['manager_timestamp']) : null;
  const before = await c.trx
    .selectFrom('ops_reports')
    .select(['version'])
    .where('cluster_id', '=', site.id)
    .where('node', '=', node)
    .where('kind', '=', kind)
    .executeTakeFirst();
  if (before && before.version !== null && version !== null && version < before.version)
    return { ok: true, clusterId: site.id, events: [], stale: true };
  const row = {
    tenant_id: c.job.tenantId,
    cluster_id: site.id,
    node,
    kind,
    reporter,
    received_at: c.at,
    collected_at: str(c.p['collected_at']),
    version,
    payload: JSON.stringify(c.p),
  };
  if (before)
    await c.trx
      .updateTable('ops_reports')
      .set(row)
      .where('cluster_id', '=', site.id)
      .where('node', '=', node)
      .where('kind', '=', kind)
      .execute();
  else await c.trx.insertInto('ops_reports').values(row).execute();
  return { ok: true, clusterId: site.id, events: [] };
}
