/** Read slice of the storage pools (issue 15): GET /api/storage. */
import type { Db } from './sql.ts';
import type { StoragePoolsStore, StoragePoolView } from './storage-pools-types.ts';

export function createStoragePoolsStore(db: Db): StoragePoolsStore {
  return {
    async listStoragePools(tenantId, filter) {
      let q = db
        .selectFrom('storage_pools')
        .innerJoin('clusters', 'clusters.id', 'storage_pools.cluster_id')
        .selectAll('storage_pools')
        .select('clusters.name as cluster_name')
        .where('storage_pools.tenant_id', '=', tenantId);
      if (filter.clusterId) q = q.where('storage_pools.cluster_id', '=', filter.clusterId);
      // a node's storages include the shared ones of its cluster
      if (filter.node) q = q.where('storage_pools.node', 'in', [filter.node, '']);
      const rows = await q
        .orderBy('clusters.name')
        .orderBy('storage_pools.node')
        .orderBy('storage_pools.storage')
        .execute();
      return rows.map((r): StoragePoolView => ({
        cluster_id: r.cluster_id,
        cluster: r.cluster_name,
        node: r.node === '' ? null : r.node,
        storage: r.storage,
        type: r.type,
        shared: r.shared === 1,
        enabled: r.enabled === 1,
        active: r.active === 1,
        content: r.content,
        used_bytes: r.used_bytes === null ? null : Number(r.used_bytes),
        total_bytes: r.total_bytes === null ? null : Number(r.total_bytes),
        avail_bytes: r.avail_bytes === null ? null : Number(r.avail_bytes),
        fill_ratio:
          r.used_bytes !== null && r.total_bytes !== null && Number(r.total_bytes) > 0
            ? Number(r.used_bytes) / Number(r.total_bytes)
            : null,
        days_until_full: r.days_until_full,
        reported_by: r.reported_by,
        updated_at: r.updated_at,
      }));
    },
  };
}
