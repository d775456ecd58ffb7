/**
 * Identity: which cluster ("site") a report belongs to, DESIGN.md §3. Pure: storage looks the key
 * up (and creates the site) inside its transaction.
 */
import type { OpsKind, PayloadKind } from '@nanny/schema';

/** what ingest knows about the reporting agent */
export interface ReportingAgent {
  id: string;
  /** the site this agent's reports were last filed under */
  cluster_id: string | null;
  /** what the agent said at registration */
  cluster_name: string | null;
  cluster_fingerprint: string | null;
  /** the node this agent reports for (issue 13, M2), null until its first report */
  bound_node?: string | null;
  /** the name it registered with (the node name its agent detected) */
  hostname?: string;
}

/** a key to look up or create the site by, or the site the agent is already bound to */
export type SiteKey = { key: string; name: string; clustered: boolean } | { boundId: string };

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The fingerprint, else the cluster name, else the cluster this agent last reported, else what it
 * said at registration, else the agent itself is a standalone node. Never the literal `cluster_id`
 * ("cluster" on every PVE).
 */
export function siteKey(
  kind: PayloadKind | OpsKind,
  payload: Record<string, unknown>,
  agent: ReportingAgent,
  nodeName: string,
): SiteKey {
  const fp = text(payload['cluster_fingerprint']);
  const cname = text(payload['cluster_name']);
  if (fp)
    return { key: `fp:${fp}`, name: cname ?? nodeName, clustered: kind === 'cluster' || cname !== null };
  if (cname) return { key: `name:${cname}`, name: cname, clustered: true };
  if (agent.cluster_id) return { boundId: agent.cluster_id };
  if (agent.cluster_fingerprint)
    return {
      key: `fp:${agent.cluster_fingerprint}`,
      name: agent.cluster_name ?? nodeName,
      clustered: agent.cluster_name !== null,
    };
  if (agent.cluster_name)
    return { key: `name:${agent.cluster_name}`, name: agent.cluster_name, clustered: true };
  return { key: `agent:${agent.id}`, name: nodeName, clustered: false };
}

/**
 * The node a report speaks for: a node report's `name`, a guest's `node`, a cluster report's
 * `reporting_node`; else (a cluster report without one) the agent's bound node, else the name it
 * registered with. `stated` tells whether the report named it itself.
 */
export function boundNodeOf(
  kind: PayloadKind | OpsKind,
  payload: Record<string, unknown>,
  agent: ReportingAgent,
): { node: string; stated: boolean } {
  const stated = text(payload[kind === 'node' ? 'name' : kind === 'cluster' ? 'reporting_node' : 'node']);
  if (stated !== null) return { node: stated, stated: true };
  return { node: agent.bound_node ?? agent.hostname ?? agent.id, stated: false };
}
