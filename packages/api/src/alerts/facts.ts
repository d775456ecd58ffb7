/** Turns a validated, canonical ingest payload into the engine's fact (pure). */
import { tagKeys } from '@nanny/proxmox';
import type { ProxmoxCluster, ProxmoxLXC, ProxmoxNode, ProxmoxQEMU } from '@nanny/schema';
import type { Fact } from './types.ts';

export type IngestKind = 'cluster' | 'node' | 'lxc' | 'qemu';

const time = (iso: unknown): number | undefined => {
  if (typeof iso !== 'string') return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

export function factFromPayload(
  kind: IngestKind,
  clusterId: string,
  payload: unknown,
  receivedAt: number,
): Fact {
  const p = payload as Record<string, unknown>;
  const collectedAt = time(p.collected_at);
  if (kind === 'cluster') {
    const c = payload as ProxmoxCluster;
    return {
      kind: 'cluster',
      clusterId,
      clusterName: c.cluster_name,
      at: receivedAt,
      collectedAt,
      quorate: c.quorate === 1,
      nodes: c.nodes,
      members: c.members?.map((m) => ({ name: m.name, online: m.online === 1 })),
      reportingNode: c.reporting_node ?? c.members?.find((m) => m.local === 1)?.name,
      configVersion: c.version,
    };
  }
  if (kind === 'node') {
    const n = payload as ProxmoxNode;
    return {
      kind: 'node',
      clusterId,
      clusterName: n.cluster_name,
      at: receivedAt,
      collectedAt,
      node: n.name,
      intervalSeconds: n.interval_seconds,
      heartbeatSeconds: n.heartbeat_interval_seconds,
      pveVersion: n.pve_version,
      uptimeSeconds: n.uptime_seconds,
      cpuRatio: n.cpu_usage_ratio,
      memUsed: n.mem_used_bytes,
      memTotal: n.mem_total_bytes,
      swapUsed: n.swap_used_bytes,
      swapTotal: n.swap_total_bytes,
      rootfsUsed: n.rootfs_used_bytes,
      rootfsTotal: n.rootfs_total_bytes,
      load5: n.load_avg_5m,
      cpuThreads: n.cpu_threads,
    };
  }
  const g = payload as ProxmoxLXC | ProxmoxQEMU;
  const lock = g.config?.lock ?? p.lock;
  return {
    kind: 'guest',
    clusterId,
    clusterName: g.cluster_name,
    at: receivedAt,
    collectedAt,
    vmid: g.vmid,
    guestType: kind,
    name: g.name ?? (kind === 'lxc' ? (g as ProxmoxLXC).hostname : undefined),
    node: g.node,
    status: g.status,
    // Matching form (lower case), the same as stored tags and the read API's ?tag= filter.
    tags: tagKeys(g.tags ?? g.config?.tags),
    template: g.template,
    lock: typeof lock === 'string' ? lock : undefined,
  };
}
