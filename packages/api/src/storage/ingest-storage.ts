/**
 * Ingest, storage part (issue 15): one node's view of its storages. The latest state goes to
 * `storage_pools` (a shared storage — NFS, Ceph, PBS… — once per cluster under node ''), each
 * active storage's use to `storage_samples` (kept 48 hours), and the fill trend of the last 24
 * hours becomes `days_until_full`, handed to the alert rules as derived data. Two reports are enough
 * for a projection: the rule's sustain time (storage_full_soon, default 1 h) is what keeps a short,
 * steep trend from alerting.
 *
 * Late reports (issue 14): a storage report received before the node's last one taken (a replica
 * that stalled with it in hand commits it after a newer one went through another replica) would set
 * the pools back, bring back a storage the newer report no longer listed and remove one it added,
 * with its samples. It writes nothing and is `stale`: not even its samples, which only feed the
 * trend and are pruned by the next report of their storage (one of a storage the newer report
 * removed would stay for good). `nodes.storage_report_at` decides, in the write that moves it; a
 * shared storage's row, which every node of the cluster writes, keeps a newer node's report the
 * same way.
 */
import { daysUntilFull } from '../domain/storage-trend.ts';
import { flag, num, str, type JobContext } from './ingest-context.ts';
import { bindAgent, findNode, findSite, nodeIdFor, siteOf } from './ingest-site.ts';
import type { IngestApplied, IngestRefused } from './storage.ts';
import { affected } from './sql.ts';

const SAMPLE_KEEP_MS = 48 * 3600 * 1000;

export interface DerivedStorage {
  storage: string;
  /** '' when shared */
  node: string;
  days_until_full: number | null;
}

export async function applyStorage(c: JobContext): Promise<IngestApplied | IngestRefused> {
  const nodeName = String(c.p['node']);
  // A fresh agent's first report may be this one: a new cluster or node counts against the
  // organisation's quota here as on the node and guest paths (issue 13, M7).
  const known = await findSite(c, nodeName);
  const knownNode = known ? await findNode(c, known.id, nodeName) : undefined;
  if (!knownNode) {
    const over = await c.overQuota({ clusters: known ? 0 : 1, nodes: 1 }, `new node ${nodeName}`);
    if (over) return over;
  }
  const site = await siteOf(c, nodeName, false);
  const nodeId = knownNode ?? (await nodeIdFor(c, site.id, nodeName));
  // One statement decides and records it: on PostgreSQL the row lock makes a replica's storage
  // report of this node wait for another's commit, then test against the time that one stored.
  const moved = await c.trx
    .updateTable('nodes')
    .set({ storage_report_at: c.at })
    .where('id', '=', nodeId)
    .where((eb) => eb.or([eb('storage_report_at', 'is', null), eb('storage_report_at', '<=', c.at)]))
    .executeTakeFirst();
  if (affected(moved.numUpdatedRows) === 0)
    return { ok: true as const, clusterId: site.id, nodeId, events: c.events, stale: true };
  const list = Array.isArray(c.p['storages']) ? (c.p['storages'] as Record<string, unknown>[]) : [];
  const now = Date.parse(c.occurred);
  // Samples are kept 48 hours from when they arrived, whatever `collected_at` claims: a sample
  // back-dated beyond that is not stored (it could never be pruned by a later report's cutoff).
  const cutoff = new Date(Date.parse(c.at) - SAMPLE_KEEP_MS).toISOString();
  const derived: DerivedStorage[] = [];
  for (const s of list) {
    const storage = String(s['storage']);
    const shared = flag(s['shared']) ?? 0;
    const node = shared === 1 ? '' : nodeName;
    const active = flag(s['active']) ?? 0;
    const used = active === 1 ? num(s['used_bytes']) : null;
    const total = active === 1 ? num(s['total_bytes']) : null;
    let days: number | null = null;
    if (used !== null && total !== null && total > 0 && c.occurred >= cutoff) {
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
        .where('ts', '<', cutoff)
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
      .onConflict((oc) =>
        oc
          .columns(['cluster_id', 'node', 'storage'])
          .doUpdateSet(row)
          // a shared storage's row another node wrote from a report received after this one
          .where('storage_pools.updated_at', '<=', c.at),
      )
      .execute();
  }
  // A storage this node no longer lists leaves its list, with its samples. For a shared storage
  // (node '') that is the rows this node reported last: without that, every name an agent ever sent
  // as shared stayed for good, and an agent rotating 1,024 names per report grew the database
  // without bound (issue 13, M7). Another node still listing it writes it back on its next report.
  const names = (isShared: boolean) =>
    list.filter((s) => (flag(s['shared']) === 1) === isShared).map((s) => String(s['storage']));
  await removeGone(c, site.id, nodeName, names(false));
  await removeGone(c, site.id, '', names(true), nodeName);
  await bindAgent(c, site.id);
  return { ok: true as const, clusterId: site.id, nodeId, events: c.events, derived: { storages: derived } };
}

/** rows per `in (…)` list: far below both databases' bound-parameter limits */
const CHUNK = 500;

/** Deletes the storages of `node` (of `reporter`'s, for shared ones) not in `keep`, and their samples. */
async function removeGone(
  c: JobContext,
  clusterId: string,
  node: string,
  keep: readonly string[],
  reporter?: string,
): Promise<void> {
  let q = c.trx.deleteFrom('storage_pools').where('cluster_id', '=', clusterId).where('node', '=', node);
  if (reporter !== undefined) q = q.where('reported_by', '=', reporter);
  if (keep.length > 0) q = q.where('storage', 'not in', keep);
  const gone = (await q.returning('storage').execute()).map((r) => r.storage);
  for (let i = 0; i < gone.length; i += CHUNK)
    await c.trx
      .deleteFrom('storage_samples')
      .where('cluster_id', '=', clusterId)
      .where('node', '=', node)
      .where('storage', 'in', gone.slice(i, i + CHUNK))
      .execute();
}
