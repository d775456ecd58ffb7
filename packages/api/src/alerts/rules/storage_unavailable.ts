/**
 * storage_unavailable (warning): a storage enabled for the node but not active there — an NFS,
 * CIFS or PBS server unreachable, a volume group missing (pvestatd could not activate it; PVE shows
 * it `inactive`, and /cluster/resources `status: unknown`). Per node, a shared storage included:
 * one node may lose it while the others still reach it.
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

export const storageUnavailable: Rule = {
  id: 'storage_unavailable',
  severity: 'warning',
  title: 'storage enabled for a node but not active there',
  onStorage(ctx, f) {
    const cfg = ctx.config('storage_unavailable', {
      clusterId: f.clusterId,
      clusterName: f.clusterName,
      node: f.node,
    });
    for (const p of f.pools) {
      const key = alertKey('storage_unavailable', f.clusterId, f.node, p.storage);
      const label = `storage ${p.storage} (${p.type}) on node ${f.node} (${where(f.clusterName, f.clusterId)})`;
      if (cfg.enabled && p.enabled && !p.active)
        ctx.fire(storageUnavailable, {
          key,
          summary: `${label} is enabled but not active`,
          clusterId: f.clusterId,
          clusterName: f.clusterName,
          node: f.node,
        });
      else ctx.resolve(key, `${label}: ${p.enabled ? 'active again' : 'disabled'}`);
    }
  },
};
