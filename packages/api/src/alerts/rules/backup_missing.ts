/**
 * backup_missing (warning): a guest covered by a backup job without a successful backup for longer
 * than `graceSeconds` (default 2 days). A guest with no success in the node's task history counts
 * only once both the history and the API's knowledge of the guest reach back that far: a new guest,
 * or a node whose rotated task index holds one day, is not judged on missing evidence.
 */
import { alertKey, type Rule } from '../rule.ts';
import { guestLabel, placeOf } from './ops-scope.ts';

export const backupMissing: Rule = {
  id: 'backup_missing',
  severity: 'warning',
  title: 'a guest covered by a backup job has no successful backup for N days',
  onOps(ctx, f) {
    const b = f.backups;
    if (!b) return;
    const place = placeOf(ctx, f);
    for (const g of b.guests) {
      const key = alertKey('backup_missing', f.clusterId, '', String(g.vmid));
      const cfg = ctx.config('backup_missing', {
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: f.node,
        tags: ctx.guest(f.clusterId, g.vmid)?.tags,
      });
      const limit = ctx.now - cfg.graceSeconds * 1000;
      const known = ctx.guest(f.clusterId, g.vmid)?.firstSeen;
      const missing =
        g.covered &&
        (g.lastSuccessAt !== undefined
          ? g.lastSuccessAt < limit
          : b.historySince !== undefined && b.historySince < limit && known !== undefined && known < limit);
      if (!missing) {
        ctx.resolve(
          key,
          g.covered
            ? `${guestLabel(g.vmid, g.name)} has a recent backup again (${place})`
            : `${guestLabel(g.vmid, g.name)} is no longer covered by a backup job (${place})`,
        );
        continue;
      }
      if (!cfg.enabled) continue;
      const days = Math.round(cfg.graceSeconds / 8640) / 10;
      ctx.fire(backupMissing, {
        key,
        summary:
          g.lastSuccessAt !== undefined
            ? `No successful backup of ${guestLabel(g.vmid, g.name)} for more than ${days} days; last on ${new Date(g.lastSuccessAt).toISOString()} (node ${f.node}, ${place})`
            : `No successful backup of ${guestLabel(g.vmid, g.name)} in node ${f.node}'s task history (more than ${days} days; ${place})`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: f.node,
        vmid: g.vmid,
      });
    }
  },
};
