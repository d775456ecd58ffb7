/** version_upgraded (info): a node's PVE version changed. One notice per change; a replayed old report is ignored. */
import { comparePveVersions } from '@nanny/proxmox';
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

export const versionUpgraded: Rule = {
  id: 'version_upgraded',
  severity: 'info',
  title: "a node's pve_version changed",
  onNode(ctx, f, n) {
    const was = ctx.prev.version;
    if (ctx.prev.stale || was === undefined || n.version === undefined || was === n.version) return;
    const scope = { clusterId: f.clusterId, clusterName: n.clusterName, node: f.node };
    if (!ctx.config('version_upgraded', scope).enabled) return;
    const verb = comparePveVersions(n.version, was) > 0 ? 'upgraded' : 'changed';
    ctx.notice(versionUpgraded, {
      key: alertKey('version_upgraded', f.clusterId, f.node, `${was}->${n.version}`),
      summary: `Node ${f.node} (${where(n.clusterName, f.clusterId)}) ${verb} from PVE ${was} to ${n.version}`,
      clusterId: f.clusterId,
      clusterName: n.clusterName,
      node: f.node,
    });
  },
};
