/**
 * node_rebooted (info): the node's uptime went backwards, or (when the agent sends `collected_at`)
 * its boot time moved forward by more than two minutes — which also catches a reboot hidden by a long
 * gap between reports (uptime already past its old value). One notice per boot.
 */
import { alertKey, type Rule } from '../rule.ts';
import { iso, where } from './format.ts';

const BOOT_JITTER_MS = 120_000;

export const nodeRebooted: Rule = {
  id: 'node_rebooted',
  severity: 'info',
  title: 'uptime went backwards',
  onNode(ctx, f, n) {
    if (ctx.prev.stale || f.uptimeSeconds === undefined || n.bootAt === undefined) return;
    const { uptimeS, bootAt } = ctx.prev;
    if (uptimeS === undefined || bootAt === undefined) return;
    const backwards = f.uptimeSeconds < uptimeS;
    const moved = f.collectedAt !== undefined && n.bootAt - bootAt > BOOT_JITTER_MS;
    if (!backwards && !moved) return;
    if (
      !ctx.config('node_rebooted', { clusterId: f.clusterId, clusterName: n.clusterName, node: f.node })
        .enabled
    )
      return;
    ctx.notice(nodeRebooted, {
      key: alertKey('node_rebooted', f.clusterId, f.node, String(Math.round(n.bootAt / 1000))),
      summary: `Node ${f.node} (${where(n.clusterName, f.clusterId)}) rebooted (up since ${iso(n.bootAt)})`,
      clusterId: f.clusterId,
      clusterName: n.clusterName,
      node: f.node,
    });
  },
};
