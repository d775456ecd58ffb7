/** version_upgraded (info): a node's PVE version changed. One notice per change; a replayed old report is ignored. */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

/** -1, 0, 1 comparing dotted/dashed versions ("7.4-3" < "8.4.1"); NaN parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const d = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export const versionUpgraded: Rule = {
  id: 'version_upgraded',
  severity: 'info',
  title: "a node's pve_version changed",
  onNode(ctx, f, n) {
    const was = ctx.prev.version;
    if (ctx.prev.stale || was === undefined || n.version === undefined || was === n.version) return;
    const scope = { clusterId: f.clusterId, clusterName: n.clusterName, node: f.node };
    if (!ctx.config('version_upgraded', scope).enabled) return;
    const verb = compareVersions(n.version, was) > 0 ? 'upgraded' : 'changed';
    ctx.notice(versionUpgraded, {
      key: alertKey('version_upgraded', f.clusterId, f.node, `${was}->${n.version}`),
      summary: `Node ${f.node} (${where(n.clusterName, f.clusterId)}) ${verb} from PVE ${was} to ${n.version}`,
      clusterId: f.clusterId,
      clusterName: n.clusterName,
      node: f.node,
    });
  },
};
