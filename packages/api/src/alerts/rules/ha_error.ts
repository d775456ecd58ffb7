/**
 * ha_error (critical): an HA resource in the CRM state `error` (start/stop/migrate failed beyond
 * max_restart/max_relocate; needs an admin) or `fence` (its node is being fenced). One alert per
 * resource; the HA report is the cluster's whole state, so a resource it no longer lists as bad
 * resolves.
 */
import { alertKey, type Rule } from '../rule.ts';
import { placeOf, resolveMissing } from './ops-scope.ts';

const BAD = new Set(['error', 'fence']);

export const haError: Rule = {
  id: 'ha_error',
  severity: 'critical',
  title: 'an HA resource is in state error or fence',
  onOps(ctx, f) {
    const h = f.ha;
    if (!h) return;
    const place = placeOf(ctx, f);
    const cfg = ctx.config('ha_error', { clusterId: f.clusterId, clusterName: f.clusterName });
    const bad = new Set<string>();
    for (const r of h.resources) {
      if (!BAD.has(r.state)) continue;
      const key = alertKey('ha_error', f.clusterId, '', r.sid);
      bad.add(key);
      if (!cfg.enabled) continue;
      const vmid = /^(?:vm|ct):(\d+)$/.exec(r.sid)?.[1];
      ctx.fire(haError, {
        key,
        summary: `HA resource ${r.sid} is in state ${r.state}${r.node ? ` on node ${r.node}` : ''} (${place})`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        ...(r.node !== undefined ? { node: r.node } : {}),
        ...(vmid !== undefined ? { vmid: Number(vmid) } : {}),
      });
    }
    resolveMissing(ctx, 'ha_error', f, '', bad, (k) => `HA resource ${k.split('|')[3]} recovered (${place})`);
  },
};
