/** What the read API answers about clusters, nodes and guests (the rows behind its views). */
export interface ClusterView {
  id: string;
  cluster_name: string;
  fingerprint: string | null;
  standalone: boolean;
  quorate: number | null;
  nodes: number | null;
  nodes_reporting: number;
  nodes_online: number;
  guests: number;
  version: number | null;
  first_seen: string;
  last_seen: string;
  collected_at: string | null;
}
export interface NodeView {
  id: string;
  name: string;
  cluster_id: string;
  cluster_name: string;
  node_id: number | null;
  ip: string | null;
  online: number | null;
  level: string | null;
  pve_version: string | null;
  kernel_version: string | null;
  uptime_seconds: number | null;
  cpu_usage_ratio: number | null;
  mem_total_bytes: number | null;
  mem_used_bytes: number | null;
  rootfs_total_bytes: number | null;
  rootfs_used_bytes: number | null;
  load_avg_1m: number | null;
  first_seen: string;
  last_seen: string;
  /** when the node's own agent last reported (null when only its cluster's members list names it) */
  last_report: string | null;
  collected_at: string | null;
  /** node health (issue 15), from the node's last report; absent when it never said */
  health?: NodeHealthView;
}
export interface NodeHealthView {
  reboot_required?: boolean;
  kernel_running?: string;
  kernel_installed?: string;
  updates_count?: number;
  updates_security_count?: number;
  certificates?: { file: string; not_after: string }[];
  ceph_health?: string;
  ceph_error?: string;
}
export interface NodeSample {
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
  swap_used_bytes: number | null;
  swap_total_bytes: number | null;
  io_wait_ratio: number | null;
  load_avg_5m: number | null;
  load_avg_15m: number | null;
  net_in_bytes: number | null;
  net_out_bytes: number | null;
}
export interface GuestView {
  id: string;
  vmid: number;
  type: 'lxc' | 'qemu';
  name: string | null;
  node: string;
  node_id: string | null;
  cluster_id: string;
  cluster_name: string;
  status: string;
  tags: string[];
  uptime_seconds: number | null;
  cpu_cores: number | null;
  memory_mb: number | null;
  template: boolean;
  gone: boolean;
  gone_at: string | null;
  first_seen: string;
  last_seen: string;
  collected_at: string | null;
}
export interface GuestDetail extends GuestView {
  report: Record<string, unknown>;
  config_versions: { ts: string; config_hash: string; diff: Record<string, unknown> | null }[];
  status_changes: { ts: string; from_status: string | null; to_status: string }[];
}
/** What a guest used at its last report (every guest report carries these). */
export interface GuestUsage {
  cpu_usage_ratio: number | null;
  mem_used_bytes: number | null;
  disk_used_bytes: number | null;
}
