/**
 * The shape shared by the resource rules: a value with a trigger, a lower clear value and a sustain
 * time. Pending while at/above the trigger; fires once it has held for the sustain time (checked on
 * each report and on the timer, so a report arriving a second early does not delay it a whole
 * interval); while firing, only a value at/below the clear value resolves it. Values between clear
 * and trigger change nothing: that is what keeps an alert from flapping.
 */
import { alertKey, type Rule, type RuleContext } from '../rule.ts';
import type { NodeFact, NodeMem, ThresholdRuleId } from '../types.ts';
import { minutes, where } from './format.ts';

export interface ThresholdSpec {
  id: ThresholdRuleId;
  title: string;
  /** the compared value, or undefined when the report lacks it */
  value(f: NodeFact): number | undefined;
  /** "CPU usage 95%" */
  describe(v: number, f?: NodeFact): string;
  fmt(v: number): string;
}

export function thresholdRule(spec: ThresholdSpec): Rule {
  const fire = (ctx: RuleContext, n: NodeMem, v: number, since: number): void => {
    const cfg = ctx.config(spec.id, { clusterId: n.clusterId, clusterName: n.clusterName, node: n.node });
    ctx.fire(rule, {
      key: alertKey(spec.id, n.clusterId, n.node),
      summary: `${spec.describe(v)} on node ${n.node} (${where(n.clusterName, n.clusterId)}) for ${minutes(
        ctx.now - since,
      )} (trigger ${spec.fmt(cfg.trigger)}, clears at ${spec.fmt(cfg.clear)})`,
      clusterId: n.clusterId,
      clusterName: n.clusterName,
      node: n.node,
    });
  };
  const rule: Rule = {
    id: spec.id,
    severity: 'warning',
    title: spec.title,
    onNode(ctx, f, n) {
      if (ctx.prev.stale) return;
      const v = spec.value(f);
      if (v === undefined || !Number.isFinite(v)) return;
      const key = alertKey(spec.id, f.clusterId, f.node);
      const cfg = ctx.config(spec.id, { clusterId: f.clusterId, clusterName: n.clusterName, node: f.node });
      if (!cfg.enabled) {
        delete n.th[spec.id];
        ctx.resolve(key);
        return;
      }
      const firing = ctx.isFiring(key);
      if (firing) {
        // A clear value above the trigger (a settings mistake) would resolve on the next report and
        // fire on the one after: never clear above the trigger.
        if (v <= Math.min(cfg.clear, cfg.trigger)) {
          delete n.th[spec.id];
          ctx.resolve(
            key,
            `${spec.describe(v)} on node ${f.node} (${where(n.clusterName, f.clusterId)}): back to normal`,
          );
        } else {
          const m = n.th[spec.id];
          if (m) m.last = v;
        }
        return;
      }
      if (v < cfg.trigger) {
        delete n.th[spec.id];
        return;
      }
      let m = n.th[spec.id];
      if (!m) m = n.th[spec.id] = { since: ctx.now, last: v };
      m.last = v;
      if (ctx.now - m.since >= cfg.sustainSeconds * 1000) fire(ctx, n, v, m.since);
    },
    onTick(ctx) {
      for (const n of ctx.state.nodes.values()) {
        const m = n.th[spec.id];
        if (!m || n.lastSeen === undefined) continue;
        const key = alertKey(spec.id, n.clusterId, n.node);
        if (ctx.isFiring(key)) continue;
        const cfg = ctx.config(spec.id, { clusterId: n.clusterId, clusterName: n.clusterName, node: n.node });
        // The last value counts only while the agent is fresh: a silent node proves nothing.
        const fresh = ctx.now - n.lastSeen <= 1.5 * (n.intervalS ?? ctx.defaultIntervalS) * 1000;
        if (cfg.enabled && fresh && ctx.now - m.since >= cfg.sustainSeconds * 1000) {
          fire(ctx, n, m.last, m.since);
          ctx.touch(`n:${n.clusterId}\u0000${n.node}`);
        }
      }
    },
  };
  return rule;
}

export const ratio = (used: number | undefined, total: number | undefined): number | undefined =>
  used === undefined || total === undefined || total <= 0 ? undefined : used / total;
export const pctf = (r: number): string => `${Math.round(r * 100)}%`;
