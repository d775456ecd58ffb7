/**
 * reboot_required (info): a newer kernel is installed than the one running (the agent compares the
 * newest installed proxmox-kernel/pve-kernel image with `uname -r`). Firing until the node runs it.
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

export const rebootRequired: Rule = {
  id: 'reboot_required',
  severity: 'info',
  title: 'a newer kernel is installed than the one running',
  onNode(ctx, f, n) {
    if (ctx.prev.stale || f.rebootRequired === undefined) return;
    const key = alertKey('reboot_required', f.clusterId, f.node);
    const on = ctx.config('reboot_required', {
      clusterId: f.clusterId,
      clusterName: n.clusterName,
      node: f.node,
    });
    const label = `Node ${f.node} (${where(n.clusterName, f.clusterId)})`;
    if (on.enabled && f.rebootRequired)
      ctx.fire(rebootRequired, {
        key,
        summary: `${label} needs a reboot: kernel ${f.kernelInstalled ?? '(newer)'} is installed, ${f.kernelRunning ?? '(older)'} is running`,
        clusterId: f.clusterId,
        clusterName: n.clusterName,
        node: f.node,
      });
    else
      ctx.resolve(
        key,
        `${label} runs its newest installed kernel${f.kernelRunning ? ` (${f.kernelRunning})` : ''}`,
      );
  },
};
