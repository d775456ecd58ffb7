/**
 * storage_full (warning, critical from `critical`): a storage's used / total. Defaults: warning at
 * 90 %, critical at 95 %, resolved at/below 85 % (values between change nothing: no flapping). A
 * shared storage is one alert per cluster whichever node reported it.
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';
import { fireAtLevel } from './levels.ts';
import { pctf, ratio } from './threshold.ts';

export const storageLabel = (storage: string, node: string): string =>
  node === '' ? `shared storage ${storage}` : `storage ${storage} on node ${node}`;

export const storageFull: Rule = {
  id: 'storage_full',
  severity: 'warning',
  title: 'storage pool fill above the trigger (critical above `critical`)',
  onStorage(ctx, f) {
    for (const p of f.pools) {
      if (!p.active) continue; // an inactive storage has no numbers (storage_unavailable speaks)
      const r = ratio(p.used, p.total);
      if (r === undefined) continue;
      const key = alertKey('storage_full', f.clusterId, p.node, p.storage);
      const cfg = ctx.config('storage_full', {
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: p.node === '' ? f.node : p.node,
      });
      const label = `${storageLabel(p.storage, p.node)} (${where(f.clusterName, f.clusterId)})`;
      if (!cfg.enabled) {
        ctx.resolve(key);
        continue;
      }
      if (ctx.isFiring(key) && r <= Math.min(cfg.clear, cfg.trigger)) {
        ctx.resolve(key, `${label}: ${pctf(r)} full, back to normal`);
        continue;
      }
      const critical = cfg.critical > 0 && r >= cfg.critical;
      if (!critical && r < cfg.trigger) continue;
      fireAtLevel(ctx, storageFull, {
        key,
        severity: critical ? 'critical' : 'warning',
        summary: `${label} is ${pctf(r)} full (warning ${pctf(cfg.trigger)}, critical ${pctf(cfg.critical)}, clears at ${pctf(cfg.clear)})`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: p.node === '' ? undefined : p.node,
      });
    }
  },
};
