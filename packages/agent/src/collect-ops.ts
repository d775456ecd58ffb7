/**
 * The cycle's last stage (issue 15): the operations reports of this node — backups, replication,
 * and HA. HA is cluster-wide, yet every node of an HA cluster sends it: each reads the same
 * manager_status through pmxcfs, and the server keeps the newest manager state once per cluster
 * (an older `manager_timestamp` is a stale view and dropped). A report from the master only would
 * stop when the master's agent is not running — the master node down before another CRM has taken
 * over, an agent missing on the new master — which is exactly when HA fences and recovers. Each
 * part fails alone: its error is logged and the others still go out. `storagePayload` is the body of the storage report (sent earlier in the
 * cycle, after the cluster report).
 */
import {
  buildBackupsPayload,
  buildHaPayload,
  buildReplicationPayload,
  toInt,
  type ClusterResource,
  type GuestRef,
  type OpsMetaInput,
  type ReportMeta,
  type StorageReport,
} from '@nanny/proxmox';
import { describeIssues, INGEST_PATH_PREFIX, validateOps, type OpsKind } from '@nanny/schema';
import type { CycleReader } from './sources/types.ts';

export interface OpsItem {
  endpoint: string;
  kind: OpsKind;
  body: Record<string, unknown>;
}

export function guestRefs(guests: readonly ClusterResource[], node: string): GuestRef[] {
  const out: GuestRef[] = [];
  for (const g of guests) {
    const vmid = toInt(g.vmid) ?? toInt(/\d+$/.exec(g.id ?? '')?.[0]);
    if (vmid === undefined || (g.type !== 'lxc' && g.type !== 'qemu')) continue;
    const r: GuestRef = { vmid, type: g.type, node };
    if (typeof g.name === 'string' && g.name !== '') r.name = g.name;
    out.push(r);
  }
  return out;
}

/** The body of POST /api/proxmox/storage: this node's storages with the report's meta fields. */
export function storagePayload(
  node: string,
  meta: ReportMeta,
  clusterName: string | undefined,
  storages: StorageReport[],
): Record<string, unknown> {
  return {
    node,
    ...(meta.clusterFingerprint !== undefined ? { cluster_fingerprint: meta.clusterFingerprint } : {}),
    ...(clusterName !== undefined ? { cluster_name: clusterName } : {}),
    collected_at: meta.collectedAt,
    agent_version: meta.agentVersion,
    ...(meta.trigger !== undefined ? { trigger: meta.trigger } : {}),
    storages,
  };
}

export async function collectOps(
  reader: CycleReader,
  meta: OpsMetaInput,
  guests: GuestRef[],
  fail: (what: string, e: unknown) => void,
): Promise<OpsItem[]> {
  const items: OpsItem[] = [];
  const push = (kind: OpsKind, body: unknown): void => {
    const v = validateOps(kind, body);
    if (!v.ok) {
      fail(`${kind} report`, `not sent, it fails the schema: ${describeIssues(v.issues)}`);
      return;
    }
    items.push({ endpoint: INGEST_PATH_PREFIX + kind, kind, body: body as Record<string, unknown> });
  };
  const [b, h, r] = await Promise.allSettled([
    reader.backups(meta.node, guests),
    reader.ha(meta.node),
    reader.replication(meta.node, guests),
  ]);
  if (b.status === 'fulfilled')
    push('backups', buildBackupsPayload(meta, guests, b.value.notBackedUp, b.value.history));
  else fail('backups', b.reason);
  if (h.status === 'fulfilled') {
    // no master ever named: HA was never configured, nothing to send
    if (h.value?.masterNode !== undefined) push('ha', buildHaPayload(meta, h.value));
  } else fail('ha', h.reason);
  if (r.status === 'fulfilled') push('replication', buildReplicationPayload(meta, r.value));
  else fail('replication', r.reason);
  return items;
}
