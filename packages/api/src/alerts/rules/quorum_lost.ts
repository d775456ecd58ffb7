/**
 * quorum_lost (critical): a cluster report says `quorate: 0`. Resolves when every node that said so
 * reports quorate again. Each reporter is tracked apart: in a network split the minority side says
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
    if (f.quorate) delete c.nonQuorate[reporter];
    else c.nonQuorate[reporter] = f.at;
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
