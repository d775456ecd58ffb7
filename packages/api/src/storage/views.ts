/** Row-to-view mapping: what the read API shows for a stored row (no SQL here). */
import type { Selectable } from 'kysely';
import type { ClusterView, FleetEvent, GuestView, NodeHealthView, NodeView } from './storage.ts';
import type { CoreDatabase, EventTable, GuestTable, NodeTable } from './types.ts';

type Json = Record<string, unknown>;

/** JSON text columns; a damaged value reads as `{}` rather than failing the whole page */
export function parseJson(text: string | null): Json {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
  } catch {
    return {};
  }
}

/** per-cluster figures counted from the nodes and guests tables */
export interface ClusterCounts {
  reporting: number;
  online: number;
  guests: number;
}

export function clusterView(r: CoreDatabase['clusters'], c: ClusterCounts | undefined): ClusterView {
  return {
    id: r.id,
    cluster_name: r.name,
    fingerprint: r.fingerprint,
    standalone: r.standalone === 1,
    quorate: r.quorate,
    nodes: r.nodes,
    nodes_reporting: c?.reporting ?? 0,
    nodes_online: c?.online ?? 0,
    guests: c?.guests ?? 0,
    version: r.version,
    first_seen: r.first_seen_at,
    last_seen: r.last_seen_at,
    collected_at: r.collected_at,
  };
}

export function nodeView(r: NodeTable & { cluster_name: string }): NodeView {
  return {
    id: r.id,
    name: r.name,
    cluster_id: r.cluster_id,
    cluster_name: r.cluster_name,
    node_id: r.node_id,
    ip: r.ip,
    online: r.online,
    level: r.level,
    pve_version: r.pve_version,
    kernel_version: r.kernel_version,
    uptime_seconds: r.uptime_seconds,
    cpu_usage_ratio: r.cpu_usage_ratio,
    mem_total_bytes: r.mem_total_bytes,
    mem_used_bytes: r.mem_used_bytes,
    rootfs_total_bytes: r.rootfs_total_bytes,
    rootfs_used_bytes: r.rootfs_used_bytes,
    load_avg_1m: r.load_avg_1m,
    first_seen: r.first_seen_at,
    last_seen: r.last_seen_at,
    last_report: r.last_report_at,
    collected_at: r.collected_at,
    ...healthOf(r.report),
  };
}

/** Node health fields (issue 15) out of the node's stored report: only what it said. */
function healthOf(report: string | null): { health?: NodeHealthView } {
  if (
    !report ||
    (!report.includes('"kernel_running"') &&
      !report.includes('"updates_count"') &&
      !report.includes('"certificates"') &&
      !report.includes('"ceph_health"'))
  )
    return {};
  const p = parseJson(report);
  const h: NodeHealthView = {};
  if (typeof p['reboot_required'] === 'boolean') h.reboot_required = p['reboot_required'];
  if (typeof p['kernel_running'] === 'string') h.kernel_running = p['kernel_running'];
  if (typeof p['kernel_installed'] === 'string') h.kernel_installed = p['kernel_installed'];
  if (typeof p['updates_count'] === 'number') h.updates_count = p['updates_count'];
  if (typeof p['updates_security_count'] === 'number') h.updates_security_count = p['updates_security_count'];
  if (Array.isArray(p['certificates']))
    h.certificates = (p['certificates'] as { file?: unknown; not_after?: unknown }[])
      .filter((c) => typeof c.file === 'string' && typeof c.not_after === 'string')
      .map((c) => ({ file: String(c.file), not_after: String(c.not_after) }));
  if (typeof p['ceph_health'] === 'string') h.ceph_health = p['ceph_health'];
  if (typeof p['ceph_error'] === 'string') h.ceph_error = p['ceph_error'];
  return { health: h };
}

export function guestView(
  r: Pick<
    GuestTable,
    | 'id'
    | 'vmid'
    | 'type'
    | 'name'
    | 'node_name'
    | 'node_id'
    | 'cluster_id'
    | 'status'
    | 'tags'
    | 'uptime_seconds'
    | 'cpu_cores'
    | 'memory_mb'
    | 'template'
    | 'gone_at'
    | 'first_seen_at'
    | 'last_seen_at'
    | 'collected_at'
  > & { cluster_name: string },
): GuestView {
  return {
    id: r.id,
    vmid: r.vmid,
    type: r.type === 'qemu' ? 'qemu' : 'lxc',
    name: r.name,
    node: r.node_name,
    node_id: r.node_id,
    cluster_id: r.cluster_id,
    cluster_name: r.cluster_name,
    status: r.status,
    tags: r.tags ? r.tags.split(',') : [],
    uptime_seconds: r.uptime_seconds,
    cpu_cores: r.cpu_cores,
    memory_mb: r.memory_mb,
    template: r.template === 1,
    gone: r.gone_at !== null,
    gone_at: r.gone_at,
    first_seen: r.first_seen_at,
    last_seen: r.last_seen_at,
    collected_at: r.collected_at,
  };
}

export function eventView(e: Selectable<EventTable>): FleetEvent {
  return {
    ...e,
    id: Number(e.id),
    subject: e.subject as FleetEvent['subject'],
    data: e.data ? parseJson(e.data) : null,
  };
}
