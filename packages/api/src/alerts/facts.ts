/** Turns a validated, canonical ingest payload into the engine's fact (pure). */
import { tagKeys } from '@nanny/proxmox';
import type { ProxmoxCluster, ProxmoxLXC, ProxmoxNode, ProxmoxQEMU, ProxmoxStorage } from '@nanny/schema';
import type { Fact, StoragePoolFact } from './types.ts';

export type IngestKind = 'cluster' | 'node' | 'lxc' | 'qemu' | 'storage';

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
  derived?: Record<string, unknown>,
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
      kernelRunning: n.kernel_running,
      kernelInstalled: n.kernel_installed,
      rebootRequired: n.reboot_required,
      certificates: n.certificates
        ?.map((c) => ({ file: c.file, notAfter: Date.parse(c.not_after) }))
        .filter((c) => !Number.isNaN(c.notAfter)),
      updatesCount: n.updates_count,
      updatesSecurity: n.updates_security_count,
      cephHealth: n.ceph_health,
      cephChecks: n.ceph_checks,
    };
  }
  if (kind === 'storage') {
    const s = payload as ProxmoxStorage;
    // days_until_full comes from storage ingest's trend (ingest-storage.ts), keyed by storage and node.
    const days = new Map<string, number | null>();
    const d = derived?.['storages'];
    if (Array.isArray(d))
      for (const x of d as { storage: string; node: string; days_until_full: number | null }[])
        days.set(`${x.node}/${x.storage}`, x.days_until_full);
    return {
      kind: 'storage',
      clusterId,
      clusterName: s.cluster_name,
      at: receivedAt,
      collectedAt,
      node: s.node,
      pools: s.storages.map((x): StoragePoolFact => {
        const node = x.shared === 1 ? '' : s.node;
        return {
          storage: x.storage,
          node,
          type: x.type,
          shared: x.shared === 1,
          enabled: x.enabled === 1,
          active: x.active === 1,
          used: x.used_bytes,
          total: x.total_bytes,
          daysUntilFull: days.get(`${node}/${x.storage}`) ?? undefined,
        };
      }),
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
