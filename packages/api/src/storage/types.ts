/** Row types of the core tables (migration 0001_core). Timestamps are ISO-8601 UTC strings; flags are 0/1. */
import type { Generated } from 'kysely';
import type { Agent } from './storage.ts';

export interface MetaTable {
  key: string;
  value: string;
}
export interface TenantTable {
  id: string;
  name: string;
  created_at: string;
}
export interface UserTable {
  id: string;
  tenant_id: string;
  username: string;
  password_hash: string;
  role: string;
  created_at: string;
}
export interface SessionTable {
  id_hash: string;
  user_id: string;
  tenant_id: string;
  created_at: string;
  expires_at: string;
}
export interface ApiTokenTable {
  id: string;
  tenant_id: string;
  user_id: string | null;
  name: string;
  token_hash: string;
  scope: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}
export interface EnrollmentTokenTable {
  id: string;
  tenant_id: string;
  token_hash: string;
  max_uses: number;
  uses_left: number;
  expires_at: string;
  created_at: string;
  revoked_at: string | null;
}
/** The agents table holds exactly the domain record. */
export type AgentTable = Agent;
export interface RefreshTokenTable {
  token_hash: string;
  agent_id: string;
  tenant_id: string;
  token_version: number;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}
export interface ClusterTable {
  id: string;
  tenant_id: string;
  key: string;
  name: string;
  fingerprint: string | null;
  standalone: number;
  quorate: number | null;
  nodes: number | null;
  version: number | null;
  cluster_id_reported: string | null;
  first_seen_at: string;
  last_seen_at: string;
  /** when the last cluster report the row took was received (migration 0404) */
  last_report_at: string | null;
  collected_at: string | null;
}
export interface NodeTable {
  id: string;
  tenant_id: string;
  cluster_id: string;
  name: string;
  node_id: number | null;
  ip: string | null;
  online: number | null;
  local: number | null;
  level: string | null;
  pve_version: string | null;
  uptime_seconds: number | null;
  cpu_usage_ratio: number | null;
  mem_total_bytes: number | null;
  mem_used_bytes: number | null;
  rootfs_total_bytes: number | null;
  rootfs_used_bytes: number | null;
  load_avg_1m: number | null;
  kernel_version: string | null;
  /** the last node report, canonical JSON */
  report: string | null;
  first_seen_at: string;
  last_seen_at: string;
  last_report_at: string | null;
  collected_at: string | null;
  /** received_at of the latest node report: the start of the node's current report cycle */
  cycle_started_at: string | null;
  /** received_at of the latest storage report of the node that was taken (migration 0405) */
  storage_report_at: string | null;
}
export interface NodeSampleTable {
  id: Generated<number>;
  tenant_id: string;
  node_id: string;
  ts: string;
  received_at: string;
  online: number | null;
  cpu_usage_ratio: number | null;
  mem_used_bytes: number | null;
  mem_total_bytes: number | null;
  rootfs_used_bytes: number | null;
  rootfs_total_bytes: number | null;
  load_avg_1m: number | null;
  uptime_seconds: number | null;
  /** migration 0401 */
  swap_used_bytes: number | null;
  swap_total_bytes: number | null;
  io_wait_ratio: number | null;
  load_avg_5m: number | null;
  load_avg_15m: number | null;
  /** migration 0402: the physical NICs' bytes since boot */
  net_in_bytes: number | null;
  net_out_bytes: number | null;
}
export interface GuestTable {
  id: string;
  tenant_id: string;
  cluster_id: string;
  vmid: number;
  type: string;
  name: string | null;
  node_name: string;
  node_id: string | null;
  status: string;
  tags: string | null;
  uptime_seconds: number | null;
  cpu_cores: number | null;
  memory_mb: number | null;
  template: number;
  config_hash: string | null;
  first_seen_at: string;
  last_seen_at: string;
  collected_at: string | null;
  gone_at: string | null;
}
/** the last full report of a guest, canonical JSON (kept apart so list queries stay small) */
export interface GuestReportTable {
  guest_id: string;
  tenant_id: string;
  report: string;
}
export interface GuestStatusChangeTable {
  id: Generated<number>;
  tenant_id: string;
  guest_id: string;
  ts: string;
  from_status: string | null;
  to_status: string;
}
export interface GuestConfigVersionTable {
  id: Generated<number>;
  tenant_id: string;
  guest_id: string;
  ts: string;
  config_hash: string;
  config: string;
  /** {"added": {...}, "removed": {...}, "changed": {key: [old, new]}} vs the previous version */
  diff: string | null;
}
export interface EventTable {
  id: Generated<number>;
  tenant_id: string;
  cluster_id: string | null;
  node_id: string | null;
  guest_id: string | null;
  subject: string;
  type: string;
  message: string;
  data: string | null;
  occurred_at: string;
  received_at: string;
}

export interface MembershipViewTable {
  cluster_id: string;
  reporter: string;
  received_at: string;
  quorate: number;
  /** JSON [{"name", "online"}] */
  members: string;
  /** the report's `collected_at` (normalised ISO time); null when the report carried none */
  collected_at: string | null;
}

/** Issue 15: the latest operations report per (cluster, node, kind); node '' = cluster-wide. */
export interface OpsReportTable {
  tenant_id: string;
  cluster_id: string;
  node: string;
  kind: string;
  reporter: string;
  received_at: string;
  collected_at: string | null;
  version: number | null;
  payload: string;
}

export interface MembershipNodeTable {
  cluster_id: string;
  name: string;
  last_report_at: string | null;
  interval_seconds: number | null;
  heartbeat_seconds: number | null;
  state: string | null;
  since: string | null;
}

/** which agent speaks for a node (migration 0130): the database decides, across replicas */
export interface NodeClaimTable {
  tenant_id: string;
  cluster_key: string;
  node_name: string;
  agent_id: string;
  claimed_at: string;
}

/** failed logins per username or client address (migration 0131), shared by replicas */
export interface LoginFailureTable {
  /** `u:<lower-case username>` or `a:<address>` */
  key: string;
  failures: number;
  last_failure_at: number;
}

/** the durable ingest queue (migration 0200): rows leave it in their reader's transaction */
export interface IngestQueueTable {
  seq: Generated<number>;
  topic: string;
  tenant_id: string;
  body: string;
}

/** Usage history (migration 0210): `ts` and `bucket` are epoch seconds, `res` a bucket width in seconds. */
export interface GuestSampleTable {
  guest_id: string;
  ts: number;
  cpu_usage_ratio: number | null;
  mem_used_bytes: number | null;
  disk_used_bytes: number | null;
  net_in_bytes: number | null;
  net_out_bytes: number | null;
}
export interface GuestRollupTable {
  guest_id: string;
  res: number;
  bucket: number;
  n: number;
  cpu_avg: number | null;
  cpu_max: number | null;
  mem_avg: number | null;
  mem_max: number | null;
  disk_avg: number | null;
  disk_max: number | null;
  net_in_min: number | null;
  net_in_max: number | null;
  net_out_min: number | null;
  net_out_max: number | null;
}
export interface NodeRollupTable {
  node_id: string;
  res: number;
  bucket: number;
  n: number;
  online_min: number | null;
  cpu_avg: number | null;
  cpu_max: number | null;
  mem_avg: number | null;
  mem_max: number | null;
  mem_total: number | null;
  rootfs_avg: number | null;
  rootfs_max: number | null;
  rootfs_total: number | null;
  load_avg: number | null;
  load_max: number | null;
  /** migration 0401 */
  swap_avg: number | null;
  swap_max: number | null;
  swap_total: number | null;
  iowait_avg: number | null;
  iowait_max: number | null;
  load5_avg: number | null;
  load15_avg: number | null;
  /** migration 0402: min/max of the counters in the bucket */
  net_in_min: number | null;
  net_in_max: number | null;
  net_out_min: number | null;
  net_out_max: number | null;
}
/** migration 0300: one storage as one node sees it; a shared storage once per cluster (node '') */
export interface StoragePoolTable {
  tenant_id: string;
  cluster_id: string;
  node: string;
  storage: string;
  type: string;
  shared: number;
  enabled: number;
  active: number;
  content: string | null;
  used_bytes: number | null;
  total_bytes: number | null;
  avail_bytes: number | null;
  days_until_full: number | null;
  reported_by: string;
  updated_at: string;
}
export interface StorageSampleTable {
  cluster_id: string;
  node: string;
  storage: string;
  ts: string;
  used_bytes: number;
  total_bytes: number;
}

export interface CoreDatabase {
  nanny_meta: MetaTable;
  tenants: TenantTable;
  users: UserTable;
  sessions: SessionTable;
  api_tokens: ApiTokenTable;
  enrollment_tokens: EnrollmentTokenTable;
  agents: AgentTable;
  refresh_tokens: RefreshTokenTable;
  clusters: ClusterTable;
  nodes: NodeTable;
  node_samples: NodeSampleTable;
  guests: GuestTable;
  guest_reports: GuestReportTable;
  guest_status_changes: GuestStatusChangeTable;
  guest_config_versions: GuestConfigVersionTable;
  events: EventTable;
  membership_views: MembershipViewTable;
  membership_nodes: MembershipNodeTable;
  node_claims: NodeClaimTable;
  login_failures: LoginFailureTable;
  ingest_queue: IngestQueueTable;
  ops_reports: OpsReportTable;
  guest_samples: GuestSampleTable;
  guest_rollups: GuestRollupTable;
  node_rollups: NodeRollupTable;
  storage_pools: StoragePoolTable;
  storage_samples: StorageSampleTable;
}
