/**
 * ha_fencing (critical): the HA manager marks a node `fence` (lost from the quorate partition while
 * it held HA resources: it is being fenced, its resources recover elsewhere). Resolves when the
 * node's state is anything else (online again, or gone).
 */
import { alertKey, type Rule } from '../rule.ts';
import { placeOf } from './ops-scope.ts';

export const haFencing: Rule = {
  id: 'ha_fencing',
  severity: 'critical',
  title: 'the HA manager is fencing a node',
  onOps(ctx, f) {
    const h = f.ha;
    if (!h) return;
    const place = placeOf(ctx, f);
    const bad = new Set<string>();
    for (const n of h.nodes) {
      if (n.state !== 'fence') continue;
      const key = alertKey('ha_fencing', f.clusterId, n.node, '');
      bad.add(key);
      const cfg = ctx.config('ha_fencing', {
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: n.node,
      });
      if (!cfg.enabled) continue;
      ctx.fire(haFencing, {
        key,
        summary: `HA is fencing node ${n.node} (${place})`,
        clusterId: f.clusterId,
        clusterName: f.clusterName,
        node: n.node,
      });
    }
    for (const a of ctx.firingWith('ha_fencing', `ha_fencing|${f.clusterId}|`))
      if (!bad.has(a.key)) ctx.resolve(a.key, `HA no longer fences node ${a.node ?? ''} (${place})`);
  },
};
