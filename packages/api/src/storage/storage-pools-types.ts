// The storage pools slice (issue 15), apart from storage.ts to keep that file short.

/** one storage pool (GET /api/storage): a shared storage once per cluster, `node` null */
export interface StoragePoolView {
  cluster_id: string;
  cluster: string;
  node: string | null;
  storage: string;
  type: string;
  shared: boolean;
  enabled: boolean;
  active: boolean;
  content: string | null;
  used_bytes: number | null;
  total_bytes: number | null;
  avail_bytes: number | null;
  fill_ratio: number | null;
  days_until_full: number | null;
  reported_by: string;
  updated_at: string;
}

export interface StoragePoolsStore {
  listStoragePools(
    tenantId: string,
    filter: { clusterId?: string; node?: string },
  ): Promise<StoragePoolView[]>;
}
