/** What the ops rules share: the scope of a report's alerts and resolving what it no longer lists. */
import { alertKey, type RuleContext } from '../rule.ts';
import type { OpsFact, RuleId } from '../types.ts';
import { where } from './format.ts';

export const placeOf = (ctx: RuleContext, f: OpsFact): string =>
  where(ctx.cluster(f)?.name ?? f.clusterName, f.clusterId);

export const guestLabel = (vmid: number, name: string | undefined): string =>
  `guest ${vmid}${name ? ` (${name})` : ''}`;

/**
 * Resolves the firing alerts of `rule` under `alertKey(rule, cluster, node)` whose key is not in
 * `bad`: the report is the whole current state of its scope.
 */
export function resolveMissing(
  ctx: RuleContext,
  rule: RuleId,
  f: OpsFact,
  node: string,
  bad: ReadonlySet<string>,
  summary: (key: string) => string,
): void {
  for (const a of ctx.firingWith(rule, alertKey(rule, f.clusterId, node, '')))
    if (!bad.has(a.key)) ctx.resolve(a.key, summary(a.key));
}
