/**
 * Builders of the operations reports (schema ops.ts) from what the parsers give: the same input
 * from the files, pvesh and api sources gives the same body.
 */
import type { ProxmoxBackups, ProxmoxHa, ProxmoxReplication } from '@nanny/schema';
import type { BackupHistory, GuestRef } from './backups.ts';
import type { HaStatus } from './ha.ts';
import type { ReplicationJob } from './replication.ts';

export interface OpsMetaInput {
  node: string;
  collectedAt: string;
  agentVersion?: string;
  clusterName?: string;
  clusterFingerprint?: string;
  source?: string;
}

function meta(
  m: OpsMetaInput,
): Pick<
  ProxmoxBackups,
  'node' | 'collected_at' | 'agent_version' | 'cluster_name' | 'cluster_fingerprint' | 'source'
> {
  return {
    node: m.node,
    collected_at: m.collectedAt,
    ...(m.agentVersion !== undefined ? { agent_version: m.agentVersion } : {}),
    ...(m.clusterName !== undefined ? { cluster_name: m.clusterName } : {}),
    ...(m.clusterFingerprint !== undefined ? { cluster_fingerprint: m.clusterFingerprint } : {}),
    ...(m.source !== undefined ? { source: m.source } : {}),
  };
}

/**
 * The backups report of one node: its guests (each with coverage and its last success/failure
 * known from the node's task history) and its newest failed vzdump tasks.
 */
export function buildBackupsPayload(
  m: OpsMetaInput,
  guests: readonly GuestRef[],
  notBackedUp: ReadonlySet<number>,
  history: BackupHistory,
): ProxmoxBackups {
  const out: ProxmoxBackups = {
    ...meta(m),
    guests: [...guests]
      .sort((a, b) => a.vmid - b.vmid)
      .map((g) => {
        const h = history.guests.get(g.vmid);
        const row: ProxmoxBackups['guests'][number] = {
          vmid: g.vmid,
          type: g.type,
          covered: !notBackedUp.has(g.vmid),
        };
        if (g.name !== undefined) row.name = g.name;
        if (h?.lastSuccess) {
          const s = h.lastSuccess;
          row.last_success = {
            at: s.at,
            upid: s.upid,
            ...(s.sizeBytes !== undefined ? { size_bytes: s.sizeBytes } : {}),
            ...(s.storage !== undefined ? { storage: s.storage } : {}),
          };
        }
        if (h?.lastFailure)
          row.last_failure = {
            at: h.lastFailure.at,
            upid: h.lastFailure.upid,
            error: h.lastFailure.error.slice(0, 2000),
          };
        return row;
      }),
    failed_tasks: history.failed.map((f) => ({
      upid: f.upid,
      starttime: f.starttime,
      ...(f.endtime !== undefined ? { endtime: f.endtime } : {}),
      status: f.status.slice(0, 2000),
      ...(f.vmid !== undefined ? { vmid: f.vmid } : {}),
    })),
  };
  if (history.since !== undefined) out.history_since = history.since;
  return out;
}

export function buildHaPayload(m: OpsMetaInput, s: HaStatus): ProxmoxHa {
  return {
    ...meta(m),
    ...(s.masterNode !== undefined ? { master_node: s.masterNode } : {}),
    ...(s.timestamp !== undefined ? { manager_timestamp: s.timestamp } : {}),
    nodes: Object.keys(s.nodes)
      .sort()
      .map((node) => ({ node, state: s.nodes[node]! })),
    resources: s.resources.map((r) => ({
      sid: r.sid,
      ...(r.vmid !== undefined ? { vmid: r.vmid } : {}),
      ...(r.node !== undefined ? { node: r.node } : {}),
      state: r.state,
      ...(r.requestState !== undefined ? { request_state: r.requestState } : {}),
    })),
  };
}

export function buildReplicationPayload(
  m: OpsMetaInput,
  jobs: readonly ReplicationJob[],
): ProxmoxReplication {
  return {
    ...meta(m),
    jobs: jobs.map((j) => ({
      id: j.id,
      guest: j.guest,
      target: j.target,
      enabled: j.enabled,
      schedule: j.schedule,
      last_sync: j.lastSync,
      ...(j.lastTry !== undefined ? { last_try: j.lastTry } : {}),
      fail_count: j.failCount,
      ...(j.error !== undefined ? { error: j.error.slice(0, 2000) } : {}),
      ...(j.durationS !== undefined ? { duration_seconds: j.durationS } : {}),
    })),
  };
}
