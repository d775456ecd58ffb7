/** Helpers over the engine state shared by the engine and the rules (pure, keyed: no scans). */
import { alertKey, nodeKey } from './rule.ts';
import type { ClusterMem, EngineState, NodeMem, RuleId } from './types.ts';

export function createState(): EngineState {
  return { clusters: new Map(), nodes: new Map(), guests: new Map(), active: new Map() };
}

/** "pve-manager/8.4.1/2a5fa54a8503f96d" → "8.4.1"; anything else is compared as given. */
export function normalizeVersion(v: string): string {
  const m = /^pve-manager\/([^/\s]+)/.exec(v.trim());
  return m?.[1] ?? v.trim();
}

export function ensureCluster(
  state: EngineState,
  f: { clusterId: string; clusterName?: string | undefined },
): ClusterMem {
  let c = state.clusters.get(f.clusterId);
  if (!c) {
    c = { clusterId: f.clusterId, nonQuorate: {}, versions: {}, members: [] };
    state.clusters.set(f.clusterId, c);
  }
  if (f.clusterName !== undefined) c.name = f.clusterName;
  return c;
}

export function ensureNode(
  state: EngineState,
  clusterId: string,
  node: string,
  clusterName?: string | undefined,
): NodeMem {
  const k = nodeKey(clusterId, node);
  let n = state.nodes.get(k);
  if (!n) {
    n = { clusterId, node, th: {}, offlineStreak: 0, absentStreak: 0 };
    state.nodes.set(k, n);
  }
  if (clusterName !== undefined) n.clusterName = clusterName;
  return n;
}

/** Node-scoped rules: what to resolve when a node leaves its cluster. */
export const NODE_RULES: readonly RuleId[] = [
  'node_offline',
  'agent_silent',
  'cpu_high',
  'memory_high',
  'rootfs_high',
  'swap_high',
  'load_high',
  'reboot_required',
  'updates_available',
  'ceph_health_unknown',
];

/** Removes a node that left its cluster; returns the alert keys the caller must resolve. */
export function forgetNode(state: EngineState, n: NodeMem): string[] {
  const c = state.clusters.get(n.clusterId);
  if (c && n.version !== undefined) {
    const left = (c.versions[n.version] ?? 1) - 1;
    if (left > 0) c.versions[n.version] = left;
    else delete c.versions[n.version];
  }
  state.nodes.delete(nodeKey(n.clusterId, n.node));
  return NODE_RULES.map((r) => alertKey(r, n.clusterId, n.node));
}
