/**
 * Pure pieces of ingestion: which events a report implies given what was stored before, config
 * hashing and diffs, tag normalisation. No I/O: storage calls these inside its transaction.
 */
import { createHash } from 'node:crypto';
import { tagKeys } from '@nanny/proxmox';

export type Scalar = string | number | boolean | null;
export type ConfigMap = Record<string, Scalar>;

/** Stable JSON (sorted keys) so that the same config always hashes the same. */
export function stableJson(config: ConfigMap): string {
  const keys = Object.keys(config).sort();
  const out: ConfigMap = {};
  for (const k of keys) out[k] = config[k] ?? null;
  return JSON.stringify(out);
}

export function configHash(config: ConfigMap): string {
  return createHash('sha256').update(stableJson(config)).digest('hex').slice(0, 32);
}

export interface ConfigDiff {
  added: ConfigMap;
  removed: ConfigMap;
  changed: Record<string, [Scalar, Scalar]>;
}

export function diffConfig(before: ConfigMap, after: ConfigMap): ConfigDiff {
  const diff: ConfigDiff = { added: {}, removed: {}, changed: {} };
  for (const [k, v] of Object.entries(after)) {
    if (!(k in before)) diff.added[k] = v;
    else if (before[k] !== v) diff.changed[k] = [before[k] ?? null, v];
  }
  for (const [k, v] of Object.entries(before)) if (!(k in after)) diff.removed[k] = v;
  return diff;
}

/**
 * Proxmox writes tags separated by `;` in config files and the API; the spec's payload shows them
 * comma-separated; both (and spaces) are accepted. Stored as `a,b,c` in the matching form of
 * @nanny/proxmox's tagKey (lower case: a default PVE treats tags case-insensitively).
 */
export function normalizeTags(tags: unknown): string[] {
  return tagKeys(tags);
}

export interface EventDraft {
  type: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface NodeFacts {
  online: number | null;
  pve_version: string | null;
  uptime_seconds: number | null;
}

/** Events a node report implies against the stored node (undefined = never seen). */
export function nodeEvents(
  name: string,
  before: NodeFacts | undefined,
  after: NodeFacts,
  viaCluster = false,
): EventDraft[] {
  if (!before) return [{ type: 'first_seen', message: `node ${name} first seen` }];
  const out: EventDraft[] = [];
  if (before.online === 1 && after.online === 0)
    out.push({
      type: 'went_offline',
      message: `node ${name} went offline`,
      data: viaCluster ? { source: 'cluster' } : {},
    });
  if (before.online === 0 && after.online === 1)
    out.push({ type: 'came_back', message: `node ${name} came back online` });
  if (before.pve_version && after.pve_version && before.pve_version !== after.pve_version)
    out.push({
      type: 'upgraded',
      message: `node ${name} changed version: ${before.pve_version} → ${after.pve_version}`,
      data: { from: before.pve_version, to: after.pve_version },
    });
  // Uptime going down means the host booted in between (a clock jump cannot lower /proc/uptime).
  if (
    before.uptime_seconds !== null &&
    after.uptime_seconds !== null &&
    after.uptime_seconds < before.uptime_seconds
  )
    out.push({
      type: 'rebooted',
      message: `node ${name} rebooted`,
      data: { uptime_before: before.uptime_seconds, uptime_after: after.uptime_seconds },
    });
  return out;
}

export interface ClusterFacts {
  quorate: number | null;
  nodes: number | null;
}

export function clusterEvents(
  name: string,
  before: ClusterFacts | undefined,
  after: ClusterFacts,
  isNew: boolean,
): EventDraft[] {
  if (isNew || !before) return [{ type: 'first_seen', message: `cluster ${name} first seen` }];
  const out: EventDraft[] = [];
  if (before.quorate === 1 && after.quorate === 0)
    out.push({ type: 'quorum_lost', message: `cluster ${name} lost quorum` });
  if (before.quorate === 0 && after.quorate === 1)
    out.push({ type: 'quorum_regained', message: `cluster ${name} is quorate again` });
  if (before.nodes !== null && after.nodes !== null && before.nodes !== after.nodes)
    out.push({
      type: 'node_count_changed',
      message: `cluster ${name} now has ${after.nodes} nodes (was ${before.nodes})`,
      data: { from: before.nodes, to: after.nodes },
    });
  return out;
}

export interface GuestFacts {
  status: string;
  node_name: string;
  uptime_seconds: number | null;
  config_hash: string | null;
  gone_at: string | null;
}

export function guestEvents(label: string, before: GuestFacts | undefined, after: GuestFacts): EventDraft[] {
  if (!before) return [{ type: 'first_seen', message: `${label} first seen on ${after.node_name}` }];
  const out: EventDraft[] = [];
  if (before.gone_at) out.push({ type: 'came_back', message: `${label} is back on ${after.node_name}` });
  if (before.node_name !== after.node_name)
    out.push({
      type: 'migrated',
      message: `${label} migrated from ${before.node_name} to ${after.node_name}`,
      data: { from: before.node_name, to: after.node_name },
    });
  if (before.status !== after.status)
    out.push({
      type: 'status_changed',
      message: `${label} ${before.status} → ${after.status}`,
      data: { from: before.status, to: after.status },
    });
  else if (
    after.status === 'running' &&
    before.uptime_seconds !== null &&
    after.uptime_seconds !== null &&
    after.uptime_seconds < before.uptime_seconds
  )
    out.push({
      type: 'rebooted',
      message: `${label} rebooted`,
      data: { uptime_before: before.uptime_seconds, uptime_after: after.uptime_seconds },
    });
  if (before.config_hash && after.config_hash && before.config_hash !== after.config_hash)
    out.push({ type: 'config_changed', message: `${label} config changed` });
  return out;
}
