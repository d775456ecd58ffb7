/**
 * agent_silent (warning): no report from a node's agent for factor (2.5) × its heartbeat period
 * (`heartbeat_interval_seconds`, 60 s by default: 150 s) or, without heartbeats, × its interval, while its
 * cluster does not say the node is down: the agent (or its path to us) is the problem, not the node.
 * When the cluster confirms the node offline, node_offline speaks for it and this resolves.
 * Evaluated on the timer; resolves on the agent's next report.
 */
import { silenceWindowMs } from '../../domain/liveness.ts';
import { alertKey, type Rule } from '../rule.ts';
import { minutes, where } from './format.ts';

export const agentSilent: Rule = {
  id: 'agent_silent',
  severity: 'warning',
  title:
    'no report from an agent for 2.5 × its heartbeat (or interval) while the node is not known to be down',
  onNode(ctx, f, n) {
    ctx.resolve(
      alertKey('agent_silent', f.clusterId, f.node),
      `The agent on node ${f.node} (${where(n.clusterName, f.clusterId)}) reports again`,
    );
  },
  onTick(ctx) {
    for (const n of ctx.state.nodes.values()) {
      if (n.lastSeen === undefined) continue;
      const key = alertKey('agent_silent', n.clusterId, n.node);
      const cfg = ctx.config('agent_silent', {
        clusterId: n.clusterId,
        clusterName: n.clusterName,
        node: n.node,
      });
      const limit = silenceWindowMs(n.intervalS, n.heartbeatS, ctx.defaultIntervalS, cfg.factor);
      const silentFor = ctx.now - n.lastSeen;
      const nodeDown =
        (n.memberOnline === false && n.offlineStreak >= 2) ||
        ctx.isFiring(alertKey('node_offline', n.clusterId, n.node)) !== undefined;
      if (!cfg.enabled || nodeDown) {
        ctx.resolve(key);
        continue;
      }
      if (silentFor <= limit || ctx.isFiring(key)) continue;
      const peers =
        n.memberOnline === true
          ? 'its cluster still reports the node online'
          : 'no cluster report says the node is down';
      ctx.fire(agentSilent, {
        key,
        summary: `No report from the agent on node ${n.node} (${where(n.clusterName, n.clusterId)}) for ${minutes(silentFor)}; ${peers}`,
        clusterId: n.clusterId,
        clusterName: n.clusterName,
        node: n.node,
      });
    }
  },
};
