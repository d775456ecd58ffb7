/**
 * updates_available (info): pve-manager's cached list of available updates (what `pveupdate`
 * writes daily, /var/lib/pve-manager/pkgupdates) has at least `trigger` packages (default 1).
 * Resolved when the list is empty (the node was upgraded).
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

export const updatesAvailable: Rule = {
  id: 'updates_available',
  severity: 'info',
  title: 'package updates available (pve-manager cache)',
  onNode(ctx, f, n) {
    if (ctx.prev.stale || f.updatesCount === undefined) return;
    const key = alertKey('updates_available', f.clusterId, f.node);
    const cfg = ctx.config('updates_available', {
      clusterId: f.clusterId,
      clusterName: n.clusterName,
      node: f.node,
    });
    const label = `Node ${f.node} (${where(n.clusterName, f.clusterId)})`;
    if (cfg.enabled && f.updatesCount >= Math.max(1, cfg.trigger)) {
      const sec = f.updatesSecurity ? `, ${f.updatesSecurity} from a security repository` : '';
      ctx.fire(updatesAvailable, {
        key,
        summary: `${label} has ${f.updatesCount} package update${f.updatesCount === 1 ? '' : 's'} available${sec}`,
        clusterId: f.clusterId,
        clusterName: n.clusterName,
        node: f.node,
      });
    } else ctx.resolve(key, `${label} is up to date`);
  },
};
