/**
 * storage_full_soon (warning): the last 24 hours' growth fills the storage within `trigger` days
 * (default 7), and has said so for `sustainSeconds` (default 1 h: one steep hour is not a trend).
 * Resolves when the projection goes above `clear` days (default 10) or the growth stops.
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';
import { storageLabel } from './storage_full.ts';

const days = (d: number): string => (d < 1 ? `${Math.round(d * 24)} hours` : `${d.toFixed(1)} days`);

export const storageFullSoon: Rule = {
  id: 'storage_full_soon',
  severity: 'warning',
  title: 'storage pool full within `trigger` days at the last 24 h growth',
  onStorage(ctx, f, n) {
    if (ctx.prev.stale) return;
    for (const p of f.pools) {
      if (!p.active) continue;
      const key = alertKey('storage_full_soon', f.clusterId, p.node, p.storage);
      const mem = `storage_full_soon|${p.node}/${p.storage}`;
      const cfg = ctx.config('storage_full_soon', {
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: p.node === '' ? f.node : p.node,
      });
      const label = `${storageLabel(p.storage, p.node)} (${where(f.clusterName, f.clusterId)})`;
      const d = p.daysUntilFull;
      if (!cfg.enabled || d === undefined || d > cfg.trigger) {
        if (n.since) delete n.since[mem];
        if (!cfg.enabled || d === undefined || d > Math.max(cfg.clear, cfg.trigger))
          ctx.resolve(key, `${label}: ${d === undefined ? 'no longer growing' : `full in ${days(d)}`}`);
        continue;
      }
      n.since ??= {};
      const since = (n.since[mem] ??= ctx.now);
      if (ctx.now - since < cfg.sustainSeconds * 1000) continue;
      ctx.fire(storageFullSoon, {
        key,
        summary: `${label} will be full in ${days(d)} at the last 24 h growth (trigger ${cfg.trigger} days)`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: p.node === '' ? undefined : p.node,
      });
    }
  },
};
