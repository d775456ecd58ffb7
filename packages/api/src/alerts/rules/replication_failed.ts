/**
 * replication_failed (warning): an enabled storage replication job whose last run failed
 * (`fail_count` > 0, pvesr's state), with its error. One alert per job; resolves when the job
 * syncs again, is disabled, or is gone from the node's report (deleted, or its guest moved).
 */
import { alertKey, type Rule } from '../rule.ts';
import { placeOf, resolveMissing } from './ops-scope.ts';

export const replicationFailed: Rule = {
  id: 'replication_failed',
  severity: 'warning',
  title: 'a storage replication job fails',
  onOps(ctx, f) {
    const r = f.replication;
    if (!r) return;
    const place = placeOf(ctx, f);
    const cfg = ctx.config('replication_failed', {
      clusterId: f.clusterId,
      clusterName: f.clusterName,
      node: f.node,
    });
    const bad = new Set<string>();
    for (const j of r.jobs) {
      if (!j.enabled || j.failCount === 0) continue;
      const key = alertKey('replication_failed', f.clusterId, f.node, j.id);
      bad.add(key);
      if (!cfg.enabled) continue;
      ctx.fire(replicationFailed, {
        key,
        summary: `Replication job ${j.id} (guest ${j.guest} → ${j.target}) failed ${j.failCount} time(s) on node ${f.node} (${place})${j.error ? `: ${j.error}` : ''}`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: f.node,
        vmid: j.guest,
      });
    }
    resolveMissing(
      ctx,
      'replication_failed',
      f,
      f.node,
      bad,
      (k) => `Replication job ${k.split('|')[3]} syncs again on node ${f.node} (${place})`,
    );
  },
};
