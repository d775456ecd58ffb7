/**
 * Rules whose severity follows the value (storage_full, certificate_expiring): warning at one
 * level, critical at a worse one. Going from warning to critical resolves the warning alert and
 * fires a critical one, so the critical notification goes out (an alert's severity is fixed for its
 * life: one id per key and start, alerts/service.ts).
 */
import type { FireInput, Rule, RuleContext } from '../rule.ts';
import type { Severity } from '../types.ts';

export function fireAtLevel(ctx: RuleContext, rule: Rule, a: FireInput & { severity: Severity }): void {
  const firing = ctx.isFiring(a.key);
  if (firing && firing.severity === 'warning' && a.severity === 'critical') {
    ctx.resolve(a.key, `${firing.summary}: now critical`);
  }
  ctx.fire(rule, a);
}
