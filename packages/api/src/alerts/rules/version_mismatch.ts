/**
 * version_mismatch (warning): the nodes of one cluster run different PVE versions for longer than
 * the grace period. A rolling upgrade passes through mixed versions, so the grace (6 h by default)
 * keeps it from being an alarm at first. Resolves when all nodes run one version again.
 */
import { alertKey, type Rule, type RuleContext } from '../rule.ts';
import type { ClusterMem } from '../types.ts';
import { where } from './format.ts';

function check(ctx: RuleContext, c: ClusterMem): void {
  const key = alertKey('version_mismatch', c.clusterId);
  const versions = Object.entries(c.versions);
  const cfg = ctx.config('version_mismatch', { clusterId: c.clusterId, clusterName: c.name });
  if (versions.length < 2 || !cfg.enabled) {
    if (c.mismatchSince !== undefined) {
      c.mismatchSince = undefined;
      ctx.touch(`c:${c.clusterId}`);
    }
    ctx.resolve(key, `All nodes of cluster ${where(c.name, c.clusterId)} run one PVE version again`);
    return;
  }
  if (c.mismatchSince === undefined) {
    c.mismatchSince = ctx.now;
    ctx.touch(`c:${c.clusterId}`);
  }
  if (ctx.now - c.mismatchSince < cfg.graceSeconds * 1000 || ctx.isFiring(key)) return;
  const list = versions
    .sort((a, b) => b[1] - a[1])
    .map(([v, k]) => `${v} (${k} node${k === 1 ? '' : 's'})`)
    .join(', ');
  ctx.fire(versionMismatch, {
    key,
    summary: `Nodes of cluster ${where(c.name, c.clusterId)} run different PVE versions: ${list}`,
    clusterId: c.clusterId,
    clusterName: c.name,
  });
}

export const versionMismatch: Rule = {
  id: 'version_mismatch',
  severity: 'warning',
  title: 'nodes of one cluster run different PVE versions for longer than the grace period',
  onNode(ctx, f) {
    const c = ctx.cluster(f);
    if (c) check(ctx, c);
  },
  onTick(ctx) {
    // Clusters are far fewer than nodes; only those with a mismatch have anything to wait for.
    for (const c of ctx.state.clusters.values()) if (c.mismatchSince !== undefined) check(ctx, c);
  },
};
