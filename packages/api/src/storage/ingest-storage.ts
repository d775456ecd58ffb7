/**
 * Ingest, storage part (issue 15): one node's view of its storages. The latest state goes to
 * `storage_pools` (a shared storage — NFS, Ceph, PBS… — once per cluster under node ''), each
 * active storage's use to `storage_samples` (kept 48 hours), and the fill trend of the last 24
 * hours becomes `days_until_full`, handed to the alert rules as derived data. Two reports are enough
 * for a projection: the rule's sustain time (storage_full_soon, default 1 h) is what keeps a short,
 * steep trend from alerting.
 */
import { daysUntilFull } from '../domain/storage-trend.ts';
import { flag, num, str, type JobContext } from './ingest-context.ts';
import { bindAgent, nodeIdFor, siteOf } from './ingest-site.ts';
import type { IngestApplied } from './storage.ts';

const SAMPLE_KEEP_MS = 48 * 3600 * 1000;

export interface DerivedStorage {
  storage: string;
  /** '' when shared */
  node: string;
  days_until_full: number | null;
}

export async function applyStorage(c: JobContext): Promise<IngestApplied> {
  const nodeName = String(c.p['node']);
  const site = await siteOf(c, nodeName, false);
  const nodeId = await nodeIdFor(c, site.id, nodeName);
  const list = Array.isArray(c.p['storages']) ? (c.p['storages'] as Record<string, unknown>[]) : [];
  const now = Date.parse(c.occurred);
  const derived: DerivedStorage[] = [];
  for (const s of list) {
    const storage = String(s['storage']);
    const shared = flag(s['shared']) ?? 0;
    const node = shared === 1 ? '' : nodeName;
    const active = flag(s['active']) ?? 0;
    const used = active === 1 ? num(s['used_bytes']) : null;
    const total = active === 1 ? num(s['total_bytes']) : null;
    let days: number | null = null;
    if (used !== null && total !== null && total > 0) {
      await c.trx
        .insertInto('storage_samples')
        .values({ cluster_id: site.id, node, storage, ts: c.occurred, used_bytes: used, total_bytes: total })
        // a replayed report, or two nodes reporting one shared storage at the same instant
        .onConflict((oc) => oc.columns(['cluster_id', 'node', 'storage', 'ts']).doNothing())
        .execute();
      await c.trx
        .deleteFrom('storage_samples')
        .where('cluster_id', '=', site.id)
        .where('node', '=', node)
        .where('storage', '=', storage)
        .where('ts', '<', new Date(now - SAMPLE_KEEP_MS).toISOString())
        .execute();
      const rows = await c.trx
        .selectFrom('storage_samples')
        .select(['ts', 'used_bytes', 'total_bytes'])
        .where('cluster_id', '=', site.id)
        .where('node', '=', node)
        .where('storage', '=', storage)
        .execute();
      days = daysUntilFull(
        rows.map((r) => ({ t: Date.parse(r.ts), used: Number(r.used_bytes), total: Number(r.total_bytes) })),
        now,
      );
    }
    derived.push({ storage, node, days_until_full: days });
    const row = {
      type: String(s['type']),
      shared,
      enabled: flag(s['enabled']) ?? 0,
      active,
      content: str(s['content']),
      used_bytes: used,
      total_bytes: total,
      avail_bytes: active === 1 ? num(s['avail_bytes']) : null,
      days_until_full: days,
      reported_by: nodeName,
      updated_at: c.at,
    };
    await c.trx
      .insertInto('storage_pools')
      .values({ tenant_id: c.job.tenantId, cluster_id: site.id, node, storage, ...row })
      .onConflict((oc) => oc.columns(['cluster_id', 'node', 'storage']).doUpdateSet(row))
      .execute();
  }
  // A storage removed from storage.cfg (or no longer for this node) leaves the node's list.
  const names = list.map((s) => String(s['storage']));
  let gone = c.trx.deleteFrom('storage_pools').where('cluster_id', '=', site.id).where('node', '=', nodeName);
  if (names.length > 0) gone = gone.where('storage', 'not in', names);
  await gone.execute();
  await bindAgent(c, site.id);
  return { ok: true as const, clusterId: site.id, nodeId, events: c.events, derived: { storages: derived } };
}
