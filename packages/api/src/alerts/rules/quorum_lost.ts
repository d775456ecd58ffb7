/**
 * quorum_lost (critical): a cluster report says `quorate: 0`. Resolves when every node that said so
 * reports quorate again (or has not repeated its "0" for 2.5 of its intervals while others report
 * quorate). Each reporter is tracked apart: in a network split the minority side says
 * 0 while the majority says 1, and one "1" must not hide the other side's "0" (that would flap).
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

export const quorumLost: Rule = {
  id: 'quorum_lost',
  severity: 'critical',
  title: 'a cluster reports quorate = 0',
  onCluster(ctx, f) {
    const c = ctx.cluster(f);
    if (!c) return;
    const reporter = f.reportingNode ?? '';
    if (f.quorate) {
      delete c.nonQuorate[reporter];
      // A quorate report settles a reporter that has not repeated its "not quorate" for 2.5 of its
      // intervals: it recovered without telling us, or went silent (agent_silent / node_offline
      // speak for it). A cut-off node that keeps saying 0 keeps the alert firing: no flapping.
      for (const [who, at] of Object.entries(c.nonQuorate)) {
        const interval = ctx.node(f.clusterId, who)?.intervalS ?? ctx.defaultIntervalS;
        if (ctx.now - at > 2.5 * interval * 1000) delete c.nonQuorate[who];
      }
    } else c.nonQuorate[reporter] = ctx.now;
    const key = alertKey('quorum_lost', f.clusterId);
    const name = where(c.name, f.clusterId);
    const cfg = ctx.config('quorum_lost', { clusterId: f.clusterId, clusterName: c.name });
    const bad = Object.keys(c.nonQuorate);
    if (bad.length > 0 && cfg.enabled) {
      const by = bad.filter((b) => b !== '');
      ctx.fire(quorumLost, {
        key,
        summary: `Cluster ${name} has lost quorum${by.length ? ` (reported by ${by.join(', ')})` : ''}`,
        clusterId: f.clusterId,
        clusterName: c.name,
      });
    } else {
      ctx.resolve(key, `Cluster ${name} is quorate again`);
    }
  },
};
