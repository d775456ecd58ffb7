/**
 * The engine's side of "one truth from many views": every reporter's latest membership view is kept
 * in the cluster's state and the cluster's membership is derived from all of them (pure).
 */
import { deriveMembership, type Membership } from '@nanny/proxmox';
import { replyWindowMs, silenceWindowMs, viewWindowMs } from '../domain/liveness.ts';
import type { RuleContext } from './rule.ts';
import type { ClusterFact, ClusterMem } from './types.ts';

/**
 * Keeps `reporter`'s view; an empty member list says nothing about members, only about quorum.
 * Returns false when the report is not newer than the view held (it is not taken): the caller
 * treats it as a duplicate.
 */
export function rememberView(c: ClusterMem, reporter: string, f: ClusterFact): boolean {
  const views = (c.views ??= {});
  const prev = views[reporter];
  if (prev && f.collectedAt !== undefined && prev.at > f.at) return false;
  // Collected before the view we hold, or the very collection we hold: a resend that overtook it,
  // or the original committed after its resend (a replica stalled with it in hand and committed it
  // later). Receive order says nothing then; the agent's clock does. Taking the same collection
  // again would only move its receive time, and views are ordered by that: a resend received after
  // another reporter's newer view outranked it and brought back a membership that was over.
  if (prev?.collectedAt !== undefined && f.collectedAt !== undefined && f.collectedAt <= prev.collectedAt)
    return false;
  const members = f.members && f.members.length > 0 ? f.members : (prev?.members ?? []);
  views[reporter] = {
    at: f.at,
    ...(f.collectedAt !== undefined ? { collectedAt: f.collectedAt } : {}),
    quorate: f.quorate,
    members: members.map((m) => ({ ...m })),
  };
  return true;
}

/** The derived membership of a cluster now, or undefined when no reporter has sent a view. */
export function clusterMembership(ctx: RuleContext, c: ClusterMem): Membership | undefined {
  const views = c.views ?? {};
  const reporters = Object.keys(views);
  if (reporters.length === 0) return undefined;
  const names = new Set<string>([...c.members, ...reporters]);
  for (const v of Object.values(views)) for (const m of v.members) names.add(m.name);
  const def = ctx.defaultIntervalS;
  const silence = new Map<string, number>();
  const reply = new Map<string, number>();
  const nodes = [...names].map((name) => {
    const n = ctx.node(c.clusterId, name);
    silence.set(name, silenceWindowMs(n?.intervalS, n?.heartbeatS, def));
    reply.set(name, replyWindowMs(n?.intervalS, n?.heartbeatS, def));
    return { name, lastReportAt: n?.lastSeen };
  });
  return deriveMembership({
    views: reporters.map((reporter) => {
      const v = views[reporter] as NonNullable<(typeof views)[string]>;
      return {
        reporter,
        at: v.at,
        quorate: v.quorate,
        members: v.members,
        maxAgeMs: viewWindowMs(ctx.node(c.clusterId, reporter)?.intervalS, def),
      };
    }),
    nodes,
    now: ctx.now,
    viewMaxAgeMs: viewWindowMs(undefined, def),
    silentAfterMs: silenceWindowMs(undefined, undefined, def),
    silentAfterMsOf: (name) => silence.get(name),
    replyWithinMsOf: (name) => reply.get(name),
  });
}
