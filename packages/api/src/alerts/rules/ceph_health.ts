/**
 * ceph_health_warn (warning) and ceph_health_err (critical): `health.status` of
 * /cluster/ceph/status, one alert per cluster whichever node's agent reported it. HEALTH_OK
 * resolves both; HEALTH_ERR resolves the warning (the error alert says more). A node without Ceph
 * sends no `ceph_health`, which changes nothing.
 *
 * ceph_health_unknown (warning, per node): the node has Ceph but could not read its status
 * (`HEALTH_UNKNOWN`, with `ceph_error`: a timeout, a librados error when the monitors lost quorum).
 * Per node because it may be the node's own link to the monitors that fails; it neither fires nor
 * resolves the cluster's alerts (an unreadable state says nothing about them). A known health from
 * the node resolves it.
 */
import { alertKey, type Rule, type RuleContext } from '../rule.ts';
import type { NodeFact, NodeMem } from '../types.ts';
import { where } from './format.ts';

function checksText(f: NodeFact): string {
  const c = f.cephChecks ?? [];
  if (c.length === 0) return '';
  return `: ${c.map((x) => (x.message ? `${x.code} (${x.message})` : x.code)).join('; ')}`;
}

function judge(ctx: RuleContext, f: NodeFact, n: NodeMem): void {
  const h = f.cephHealth;
  if (ctx.prev.stale) return;
  const scope = { clusterId: f.clusterId, clusterName: n.clusterName };
  const label = `Ceph of ${where(n.clusterName, f.clusterId)}`;
  const unknownKey = alertKey('ceph_health_unknown', f.clusterId, f.node);
  if (h === undefined) {
    // a full report (it has the other health fields) without Ceph: Ceph is gone from this node
    if (f.updatesCount !== undefined || f.kernelRunning !== undefined)
      ctx.resolve(unknownKey, `${label}: node ${f.node} has no Ceph any more`);
    return;
  }
  if (h === 'HEALTH_UNKNOWN') {
    if (ctx.config('ceph_health_unknown', { ...scope, node: f.node }).enabled)
      ctx.fire(cephHealthUnknown, {
        key: unknownKey,
        summary: `${label}: node ${f.node} cannot read the Ceph status${f.cephError ? ` (${f.cephError})` : ''}`,
        clusterId: f.clusterId,
        clusterName: n.clusterName,
        node: f.node,
      });
    return;
  }
  ctx.resolve(unknownKey, `${label}: node ${f.node} reads the Ceph status again (${h})`);
  const warnKey = alertKey('ceph_health_warn', f.clusterId);
  const errKey = alertKey('ceph_health_err', f.clusterId);
  const fire = (rule: Rule): void =>
    ctx.fire(rule, {
      key: alertKey(rule.id, f.clusterId),
      summary: `${label} is ${h}${checksText(f)} (reported by ${f.node})`,
      clusterId: f.clusterId,
      clusterName: n.clusterName,
    });
  if (h === 'HEALTH_ERR' && ctx.config('ceph_health_err', scope).enabled) {
    ctx.resolve(warnKey, `${label}: now ${h}`);
    fire(cephHealthErr);
    return;
  }
  if (h === 'HEALTH_WARN' && ctx.config('ceph_health_warn', scope).enabled) {
    ctx.resolve(errKey, `${label}: now ${h}`);
    fire(cephHealthWarn);
    return;
  }
  ctx.resolve(warnKey, `${label} is ${h}`);
  ctx.resolve(errKey, `${label} is ${h}`);
}

export const cephHealthWarn: Rule = {
  id: 'ceph_health_warn',
  severity: 'warning',
  title: 'Ceph health HEALTH_WARN',
  onNode: judge,
};

/** Judged once, by ceph_health_warn's onNode: the two share one decision. */
export const cephHealthErr: Rule = {
  id: 'ceph_health_err',
  severity: 'critical',
  title: 'Ceph health HEALTH_ERR',
};

/** Judged by ceph_health_warn's onNode too: an unreadable status is decided beside the others. */
export const cephHealthUnknown: Rule = {
  id: 'ceph_health_unknown',
  severity: 'warning',
  title: 'Ceph installed, its status unreadable',
};
