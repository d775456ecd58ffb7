/** Turns a validated, canonical ingest payload into the engine's fact (pure). */
import { tagKeys } from '@nanny/proxmox';
import type {
  OpsKind,
  ProxmoxBackups,
  ProxmoxCluster,
  ProxmoxHa,
  ProxmoxLXC,
  ProxmoxNode,
  ProxmoxQEMU,
  ProxmoxReplication,
  ProxmoxStorage,
} from '@nanny/schema';
import type { Fact, OpsFact, StoragePoolFact } from './types.ts';

export type IngestKind = 'cluster' | 'node' | 'lxc' | 'qemu' | 'storage' | OpsKind;

/** An ops report as the engine's fact: Proxmox epoch seconds become epoch ms. */
function opsFact(
  kind: OpsKind,
  clusterId: string,
  p: Record<string, unknown>,
  at: number,
  collectedAt?: number,
): OpsFact {
  const base = {
    kind: 'ops' as const,
    report: kind,
    clusterId,
    clusterName: typeof p.cluster_name === 'string' ? p.cluster_name : undefined,
    at,
    collectedAt,
    node: String(p.node),
  };
  if (kind === 'backups') {
    const b = p as unknown as ProxmoxBackups;
    const newestOk = Math.max(0, ...b.guests.map((g) => g.last_success?.at ?? 0));
    // `job errors` is what vzdump ends with when guests failed one by one (PVE/VZDump.pm): those
    // guests carry the failure. Any other text on a task without a vmid: the job failed as a whole.
    const job = b.failed_tasks.find((t) => t.vmid === undefined);
    const whole = job !== undefined && job.status !== 'job errors' && b.failed_tasks[0] === job;
    return {
      ...base,
      backups: {
        historySince: b.history_since !== undefined ? b.history_since * 1000 : undefined,
        guests: b.guests.map((g) => ({
          vmid: g.vmid,
          name: g.name,
          covered: g.covered,
          lastSuccessAt: g.last_success ? g.last_success.at * 1000 : undefined,
          lastFailure: g.last_failure
            ? { at: g.last_failure.at * 1000, error: g.last_failure.error }
            : undefined,
        })),
        // A job that failed before naming any guest (storage offline, lock timeout) — unless a later
        // backup on this node succeeded, which means the cause went away.
        jobFailure:
          job && whole && (job.endtime ?? job.starttime) >= newestOk
            ? { at: (job.endtime ?? job.starttime) * 1000, error: job.status, upid: job.upid }
            : undefined,
      },
    };
  }
  if (kind === 'ha') {
    const h = p as unknown as ProxmoxHa;
    return {
      ...base,
      ha: {
        managerTimestamp: h.manager_timestamp,
        nodes: h.nodes,
        resources: h.resources.map((r) => ({ sid: r.sid, node: r.node, state: r.state })),
      },
    };
  }
  const r = p as unknown as ProxmoxReplication;
  return {
    ...base,
    replication: {
      jobs: r.jobs.map((j) => ({
        id: j.id,
        guest: j.guest,
        target: j.target,
        enabled: j.enabled,
        failCount: j.fail_count,
        error: j.error,
        lastSync: j.last_sync,
      })),
    },
  };
}

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
  if (kind === 'backups' || kind === 'ha' || kind === 'replication')
    return opsFact(kind, clusterId, p, receivedAt, collectedAt);
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
      cephError: n.ceph_error,
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
