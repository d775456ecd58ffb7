/**
 * quorum_lost (critical): some live part of the cluster is without quorum. Derived from every
 * reporter's latest view (alerts/membership.ts), not from the last report: it fires while a fresh
 * view says `quorate: 0` (no partition holds quorum, or a live node is cut off from the quorate
 * one) and resolves once no fresh view says so. During a split the reporters alternate; each one's
 * view is kept apart, so their order cannot make the alert flap. One alert per cluster; its summary
 * names the partitions ("{a,b} quorate, {c}").
 *
 * A report without a reporter (an agent that names neither `reporting_node` nor a local member)
 * cannot be placed in a partition: it is tracked as before, until 2.5 intervals pass without it.
 */
import { describePartitions } from '../../domain/liveness.ts';
import { clusterMembership } from '../membership.ts';
import { alertKey, type Rule, type RuleContext } from '../rule.ts';
import type { ClusterMem } from '../types.ts';
import { where } from './format.ts';

function evaluateQuorum(ctx: RuleContext, c: ClusterMem): void {
  for (const [who, at] of Object.entries(c.nonQuorate)) {
    if (ctx.now - at > 2.5 * ctx.defaultIntervalS * 1000) {
      delete c.nonQuorate[who];
      ctx.touch(`c:${c.clusterId}`);
    }
  }
  const m = clusterMembership(ctx, c);
  const without = m?.views.filter((v) => !v.quorate).map((v) => v.reporter) ?? [];
  const key = alertKey('quorum_lost', c.clusterId);
  const name = where(c.name, c.clusterId);
  const cfg = ctx.config('quorum_lost', { clusterId: c.clusterId, clusterName: c.name });
  if ((without.length > 0 || '' in c.nonQuorate) && cfg.enabled) {
    const parts = m && m.partitions.length > 0 ? `; partitions: ${describePartitions(m.partitions)}` : '';
    const by = without.length > 0 ? ` (reported by ${without.join(', ')})` : '';
    ctx.fire(quorumLost, {
      key,
      summary: `Cluster ${name} has lost quorum${by}${parts}`,
      clusterId: c.clusterId,
      clusterName: c.name,
    });
  } else {
    ctx.resolve(key, `Cluster ${name} is quorate again`);
  }
}

export const quorumLost: Rule = {
  id: 'quorum_lost',
  severity: 'critical',
  title: 'a live part of the cluster is without quorum (derived from every reporter’s latest view)',
  onCluster(ctx, f) {
    const c = ctx.cluster(f);
    if (!c) return;
    if (f.reportingNode === undefined) {
      if (f.quorate) delete c.nonQuorate[''];
      else c.nonQuorate[''] = ctx.now;
    }
    evaluateQuorum(ctx, c);
  },
  onTick(ctx) {
    // Views expire with their reporters' silence: a cut-off node that died stops holding the alert.
    for (const c of ctx.state.clusters.values()) {
      if (c.views || Object.keys(c.nonQuorate).length > 0) evaluateQuorum(ctx, c);
    }
  },
};
