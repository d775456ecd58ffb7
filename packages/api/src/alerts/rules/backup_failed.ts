/**
 * backup_failed (warning): a guest whose newest vzdump attempt failed (its `ERROR: Backup of VM …
 * failed - …` line, or the task status of a single-guest task), one alert per guest; and per node a
 * backup job that failed as a whole before naming a guest (storage offline, lock timeout). Resolves
 * when a newer backup of that guest (of any guest on that node, for the job alert) succeeds.
 */
import { alertKey, type Rule } from '../rule.ts';
import { guestLabel, placeOf } from './ops-scope.ts';

export const backupFailed: Rule = {
  id: 'backup_failed',
  severity: 'warning',
  title: 'the newest backup of a guest failed, or a backup job failed as a whole',
  onOps(ctx, f) {
    const b = f.backups;
    if (!b) return;
    const place = placeOf(ctx, f);
    const cfg = ctx.config('backup_failed', {
      clusterId: f.clusterId,
      clusterName: f.clusterName,
      node: f.node,
    });
    for (const g of b.guests) {
      const key = alertKey('backup_failed', f.clusterId, '', String(g.vmid));
      const failed = g.lastFailure !== undefined && g.lastFailure.at > (g.lastSuccessAt ?? 0);
      if (!failed) {
        if (g.lastSuccessAt !== undefined)
          ctx.resolve(
            key,
            `Backup of ${guestLabel(g.vmid, g.name)} succeeded again on node ${f.node} (${place})`,
          );
        continue;
      }
      if (!cfg.enabled) continue;
      ctx.fire(backupFailed, {
        key,
        summary: `Backup of ${guestLabel(g.vmid, g.name)} failed on node ${f.node} (${place}): ${g.lastFailure!.error}`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: f.node,
        vmid: g.vmid,
      });
    }
    const jobKey = alertKey('backup_failed', f.clusterId, f.node, 'job');
    if (!b.jobFailure) {
      ctx.resolve(jobKey, `Backups run again on node ${f.node} (${place})`);
      return;
    }
    if (!cfg.enabled) return;
    ctx.fire(backupFailed, {
      key: jobKey,
      summary: `A backup job failed on node ${f.node} (${place}): ${b.jobFailure.error}`,
      clusterId: f.clusterId,
      clusterName: f.clusterName,
      node: f.node,
    });
  },
};
