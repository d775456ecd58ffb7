/**
 * backup_not_covered (info): a guest no backup job selects (what /cluster/backup-info/not-backed-up
 * lists). Like PVE, a disabled job still counts as covering. Resolves when a job covers it.
 */
import { alertKey, type Rule } from '../rule.ts';
import { guestLabel, placeOf } from './ops-scope.ts';

export const backupNotCovered: Rule = {
  id: 'backup_not_covered',
  severity: 'info',
  title: 'a guest is not covered by any backup job',
  onOps(ctx, f) {
    const b = f.backups;
    if (!b) return;
    const place = placeOf(ctx, f);
    for (const g of b.guests) {
      const key = alertKey('backup_not_covered', f.clusterId, '', String(g.vmid));
      if (g.covered) {
        ctx.resolve(key, `${guestLabel(g.vmid, g.name)} is covered by a backup job now (${place})`);
        continue;
      }
      const cfg = ctx.config('backup_not_covered', {
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: f.node,
        tags: ctx.guest(f.clusterId, g.vmid)?.tags,
      });
      if (!cfg.enabled) continue;
      ctx.fire(backupNotCovered, {
        key,
        summary: `${guestLabel(g.vmid, g.name)} on node ${f.node} is not covered by any backup job (${place})`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: f.node,
        vmid: g.vmid,
      });
    }
  },
};
