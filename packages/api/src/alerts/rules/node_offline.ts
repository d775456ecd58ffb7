/**
 * node_offline (critical): the cluster's quorate partition sees a node offline, confirmed by a
 * second report (another reporter of that partition, or the same one again) or by the node's own
 * silence. Derived from every reporter's latest view (alerts/membership.ts):
 * - a full split (no partition quorate) says nothing about who is down: every node there is alive
 *   and reporting, so nothing fires and nothing resolves;
 * - a node cut off alone from a quorate majority is offline from the cluster's point of view (its
 *   guests are fenced or moved), so it fires, although the node itself is `partitioned`;
 * - it resolves once the quorate partition sees the node online again, or when the node has left
 *   the cluster (absent from two consecutive non-empty member lists).
 * Reporters alternating during a split cannot make it flap: it follows the derived state only.
 *
 * A report without a reporter cannot be placed in a partition: as before, two consecutive such
 * reports saying `online: 0` fire and one saying online resolves (one empty or failed reply is not
 * an outage, so an empty member list counts for nothing).
 */
import { silenceWindowMs } from '../../domain/liveness.ts';
import { clusterMembership } from '../membership.ts';
import { alertKey, type Rule, type RuleContext } from '../rule.ts';
import { ensureNode, forgetNode } from '../state.ts';
import type { ClusterFact, ClusterMem } from '../types.ts';
import { where } from './format.ts';

/** Fires and resolves node_offline for every node of `c` from its derived membership. */
function evaluateNodes(ctx: RuleContext, c: ClusterMem, f?: ClusterFact): void {
  const m = clusterMembership(ctx, c);
  if (!m || m.quorate === null) return;
  const q = m.partitions[m.quorate];
  if (!q) return;
  const name = where(c.name, c.clusterId);
  const fromQuorate = f?.reportingNode !== undefined && q.reporters.includes(f.reportingNode);
  for (const nm of m.nodes) {
    const key = alertKey('node_offline', c.clusterId, nm.name);
    const n = ensureNode(ctx.state, c.clusterId, nm.name, c.name);
    if (q.nodes.includes(nm.name)) {
      if (n.offlineStreak !== 0 || n.memberOnline !== true) ctx.touch(`n:${c.clusterId}\u0000${nm.name}`);
      n.offlineStreak = 0;
      n.memberOnline = true;
      ctx.resolve(key, `Node ${nm.name} of cluster ${name} is online again`);
      continue;
    }
    const offlineBy = nm.seenOfflineBy.filter((r) => q.reporters.includes(r));
    if (offlineBy.length === 0) continue;
    if (fromQuorate && f?.members?.some((x) => x.name === nm.name && !x.online)) {
      n.offlineStreak += 1;
      n.memberOnline = false;
      ctx.touch(`n:${c.clusterId}\u0000${nm.name}`);
    }
    const silent =
      n.lastSeen !== undefined &&
      ctx.now - n.lastSeen > silenceWindowMs(n.intervalS, n.heartbeatS, ctx.defaultIntervalS);
    const confirmed = offlineBy.length >= 2 || n.offlineStreak >= 2 || silent;
    const cfg = ctx.config('node_offline', { clusterId: c.clusterId, clusterName: c.name, node: nm.name });
    if (confirmed && cfg.enabled) {
      const own = nm.state === 'partitioned' ? ' (it is cut off from the quorate partition)' : '';
      ctx.fire(nodeOffline, {
        key,
        summary: `Node ${nm.name} of cluster ${name} is offline${own}`,
        clusterId: c.clusterId,
        clusterName: c.name,
        node: nm.name,
      });
    }
  }
}

/** The pre-partition rule, for reports that do not say who sent them. */
function legacyMembers(ctx: RuleContext, c: ClusterMem, f: ClusterFact): void {
  const name = where(c.name, c.clusterId);
  for (const m of f.members ?? []) {
    const n = ensureNode(ctx.state, f.clusterId, m.name, c.name);
    n.memberOnline = m.online;
    const key = alertKey('node_offline', f.clusterId, m.name);
    if (m.online) {
      n.offlineStreak = 0;
      ctx.resolve(key, `Node ${m.name} of cluster ${name} is online again`);
    } else {
      n.offlineStreak += 1;
      const cfg = ctx.config('node_offline', { clusterId: f.clusterId, clusterName: c.name, node: m.name });
      if (n.offlineStreak >= 2 && cfg.enabled) {
        ctx.fire(nodeOffline, {
          key,
          summary: `Node ${m.name} of cluster ${name} is offline`,
          clusterId: f.clusterId,
          clusterName: c.name,
          node: m.name,
        });
      }
    }
    ctx.touch(`n:${f.clusterId}\u0000${m.name}`);
  }
}

export const nodeOffline: Rule = {
  id: 'node_offline',
  severity: 'critical',
  title: 'the quorate partition sees a node offline (confirmed by a second report or its silence)',
  onCluster(ctx, f) {
    const c = ctx.cluster(f);
    if (!c || !f.members || f.members.length === 0 || ctx.prev.duplicate) return;
    const name = where(c.name, f.clusterId);
    const seen = new Set<string>();
    for (const m of f.members) {
      seen.add(m.name);
      const n = ensureNode(ctx.state, f.clusterId, m.name, c.name);
      n.absentStreak = 0;
    }
    const keep: string[] = [...seen];
    for (const old of c.members) {
      if (seen.has(old)) continue;
      const n = ctx.node(f.clusterId, old);
      if (!n) continue;
      n.absentStreak += 1;
      ctx.touch(`n:${f.clusterId}\u0000${old}`);
      if (n.absentStreak >= 2) {
        for (const k of forgetNode(ctx.state, n)) ctx.resolve(k, `Node ${old} has left cluster ${name}`);
        if (c.views) delete c.views[old];
      } else keep.push(old);
    }
    c.members = keep;
    if (f.reportingNode === undefined) legacyMembers(ctx, c, f);
    else evaluateNodes(ctx, c, f);
  },
  onTick(ctx) {
    // The node's own silence confirms what the quorate partition said once: no need to wait for
    // another report from the partition (with the watch on, it may not send one for a cycle).
    for (const c of ctx.state.clusters.values()) if (c.views) evaluateNodes(ctx, c);
  },
};
