/**
 * guest_stopped (warning): a guest that was running is reported stopped on the same node, and it is
 * not a migration: a guest that changed node, or whose config carries `lock: migrate` (set by Proxmox
 * for the whole migration, including the stop/start of a restart-mode container migration), is moving,
 * not down. Templates are ignored. Resolves when the guest runs again (on any node), or when the API
 * retires it as gone (destroyed).
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';

export const guestStopped: Rule = {
  id: 'guest_stopped',
  severity: 'warning',
  title: 'a running guest stopped, and it was not a migration',
  onGuestGone(ctx, f) {
    const g = ctx.guest(f.clusterId, f.vmid);
    ctx.resolve(
      alertKey('guest_stopped', f.clusterId, '', String(f.vmid)),
      `Guest ${f.vmid}${g?.name ? ` (${g.name})` : ''} is gone from ${where(ctx.cluster(f)?.name, f.clusterId)}`,
    );
  },
  onGuest(ctx, f) {
    const key = alertKey('guest_stopped', f.clusterId, '', String(f.vmid));
    const label = `${f.guestType === 'qemu' ? 'VM' : 'CT'} ${f.vmid}${f.name ? ` (${f.name})` : ''}`;
    const cname = where(ctx.cluster(f)?.name ?? f.clusterName, f.clusterId);
    if (f.status === 'running') {
      ctx.resolve(key, `${label} is running again on node ${f.node} (${cname})`);
      return;
    }
    if (f.template || f.status !== 'stopped' || ctx.prev.status !== 'running') return;
    const migrated =
      (ctx.prev.guestNode !== undefined && ctx.prev.guestNode !== f.node) || f.lock === 'migrate';
    if (migrated) return;
    const cfg = ctx.config('guest_stopped', {
      clusterId: f.clusterId,
      clusterName: f.clusterName,
      node: f.node,
      tags: f.tags,
    });
    if (!cfg.enabled) return;
    ctx.fire(guestStopped, {
      key,
      summary: `${label} stopped on node ${f.node} (${cname})`,
      clusterId: f.clusterId,
      clusterName: f.clusterName,
      node: f.node,
      vmid: f.vmid,
    });
  },
};
