/**
 * node_offline (critical): the cluster's member list says `online: 0` for a node in two consecutive
 * cluster reports (Pulse raised "offline" on a single empty reply; one empty or failed reply is not
 * an outage, so an empty member list counts for nothing). Resolves on the first report saying online,
 * or when the node has left the cluster (absent from two consecutive non-empty member lists).
 */
import { alertKey, type Rule } from '../rule.ts';
import { ensureNode, forgetNode } from '../state.ts';
import { where } from './format.ts';

export const nodeOffline: Rule = {
  id: 'node_offline',
  severity: 'critical',
  title: 'a node is reported offline by its cluster twice in a row',
  onCluster(ctx, f) {
    const c = ctx.cluster(f);
    if (!c || !f.members || f.members.length === 0 || ctx.prev.duplicate) return;
    const name = where(c.name, f.clusterId);
    const seen = new Set<string>();
    for (const m of f.members) {
      seen.add(m.name);
      const n = ensureNode(ctx.state, f.clusterId, m.name, c.name);
      n.absentStreak = 0;
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
    const keep: string[] = [...seen];
    for (const old of c.members) {
      if (seen.has(old)) continue;
      const n = ctx.node(f.clusterId, old);
      if (!n) continue;
      n.absentStreak += 1;
      ctx.touch(`n:${f.clusterId}\u0000${old}`);
      if (n.absentStreak >= 2) {
        for (const k of forgetNode(ctx.state, n)) ctx.resolve(k, `Node ${old} has left cluster ${name}`);
      } else keep.push(old);
    }
    c.members = keep;
  },
};
