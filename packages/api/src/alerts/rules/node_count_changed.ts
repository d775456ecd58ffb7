/** node_count_changed (info): a cluster's configured node count (`nodes`) went up or down. One notice per change. */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

export const nodeCountChanged: Rule = {
  id: 'node_count_changed',
  severity: 'info',
  title: "a cluster's configured node count changed",
  onCluster(ctx, f) {
    const was = ctx.prev.nodes;
    if (was === undefined || was === f.nodes) return;
    const c = ctx.cluster(f);
    if (!ctx.config('node_count_changed', { clusterId: f.clusterId, clusterName: c?.name }).enabled) return;
    ctx.notice(nodeCountChanged, {
      key: alertKey('node_count_changed', f.clusterId, '', `${was}->${f.nodes}@${ctx.now}`),
      summary: `Cluster ${where(c?.name, f.clusterId)} now has ${f.nodes} nodes (was ${was})`,
      clusterId: f.clusterId,
      clusterName: c?.name,
    });
  },
};
