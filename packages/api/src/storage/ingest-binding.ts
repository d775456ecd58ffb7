/**
 * Ingest, binding part (issue 13, M2): an agent reports for the one node it is bound to, in the one
 * cluster it is bound to. Checked before a report writes anything, inside the batch transaction, so
 * a refused report leaves no trace and two agents cannot race for the same node.
 */
import { boundNodeOf, siteKey } from '../domain/site.ts';
import type { JobContext } from './ingest-context.ts';
import { clusterIdByKey } from './ingest-site.ts';
import { hasViews } from './membership.ts';
import type { IngestOutcome } from './storage.ts';

type Refusal = Extract<IngestOutcome, { message: string }>;

const refuse = (message: string): Refusal => ({ ok: false, reason: 'forbidden', message });

/** undefined when the report may be applied (binding the agent on its first report) */
export async function checkBinding(c: JobContext): Promise<Refusal | undefined> {
  const { node, stated } = boundNodeOf(c.job.kind, c.p, c.agent);
  // A cluster report's view is its reporter's: one without `reporting_node` is the bound node's.
  if (c.job.kind === 'cluster' && !stated && c.agent.bound_node !== null) c.p['reporting_node'] = node;
  if (c.agent.bound_node !== null && node !== c.agent.bound_node)
    return refuse(
      `this agent reports for node ${c.agent.bound_node}; a ${c.job.kind} report for node ${node} is refused (an admin can rebind the agent)`,
    );
  const k = siteKey(c.job.kind, c.p, c.agent, node);
  // A site's id never changes once committed (ingest-context.ts): the cache spares every guest
  // report of an agent not yet bound to its site a round trip.
  const siteId =
    'boundId' in k
      ? k.boundId
      : (c.caches.sites.get(`${c.job.tenantId}|${k.key}`)?.id ?? (await clusterIdByKey(c, k.key)));
  if (c.agent.cluster_id !== null && siteId !== c.agent.cluster_id)
    return refuse(
      `this agent reports for another cluster; a report for ${'boundId' in k ? 'it' : k.name} is refused (an admin can rebind the agent)`,
    );
  if (c.agent.bound_node !== null) return undefined;
  // A fresh agent writing into a cluster that other live agents report for (issue 13): only once it
  // names its node, and — when those agents report their membership views (`members`; the spec's
  // minimal cluster body has none) — only for a node their views list.
  if (siteId !== undefined && (await hasPeers(c, siteId))) {
    if (!stated)
      return refuse(
        `this agent has not reported its node yet; a ${c.job.kind} report naming no node is refused for a cluster other agents report for`,
      );
    if ((await hasViews(c.trx, siteId)) && !(await knownMember(c, siteId, node)))
      return refuse(
        `node ${node} is not a member of this cluster as its other agents report it; a new node is accepted once they list it`,
      );
  }
  // A cluster report naming no reporter (into a cluster nobody reports for) binds no node: the
  // agent's node report will.
  if (!stated) return undefined;
  const clusterKey = 'boundId' in k ? await keyOf(c, k.boundId) : k.key;
  const holder = await claim(c, clusterKey, node);
  // A node's own agent is the only one that speaks for it (revoke or rebind the old one first).
  if (holder !== undefined) return refuse(`node ${node} is reported by another agent (${holder})`);
  await c.trx.updateTable('agents').set({ bound_node: node }).where('id', '=', c.agent.id).execute();
  c.agent.bound_node = node;
  return undefined;
}

/**
 * Claims `node` for this agent in the database: an insert-if-absent on the claim's key, so of two
 * replicas binding at once one inserts and the other sees its row (PostgreSQL makes the second
 * insert wait for the first transaction; SQLite allows one writer). A claim whose agent is revoked
 * or no longer bound to this node (an admin's rebind) is taken over, again conditionally. Answers
 * the id of the live agent holding the node, or undefined when it is now this agent's.
 */
async function claim(c: JobContext, clusterKey: string, node: string): Promise<string | undefined> {
  const key = { tenant_id: c.job.tenantId, cluster_key: clusterKey, node_name: node };
  await c.trx
    .insertInto('node_claims')
    .values({ ...key, agent_id: c.agent.id, claimed_at: c.at })
    .onConflict((oc) => oc.columns(['tenant_id', 'cluster_key', 'node_name']).doNothing())
    .execute();
  const row = await c.trx
    .selectFrom('node_claims')
    .select('agent_id')
    .where('tenant_id', '=', key.tenant_id)
    .where('cluster_key', '=', clusterKey)
    .where('node_name', '=', node)
    .executeTakeFirstOrThrow();
  if (row.agent_id === c.agent.id) return undefined;
  const held = await c.trx
    .selectFrom('agents')
    .select('id')
    .where('id', '=', row.agent_id)
    .where('revoked_at', 'is', null)
    .where('bound_node', '=', node)
    .executeTakeFirst();
  if (held) return held.id;
  const took = await c.trx
    .updateTable('node_claims')
    .set({ agent_id: c.agent.id, claimed_at: c.at })
    .where('tenant_id', '=', key.tenant_id)
    .where('cluster_key', '=', clusterKey)
    .where('node_name', '=', node)
    .where('agent_id', '=', row.agent_id)
    .executeTakeFirst();
  return Number(took.numUpdatedRows) > 0 ? undefined : row.agent_id;
}

/** Whether another live agent of the organisation is bound to a node of this cluster. */
async function hasPeers(c: JobContext, siteId: string): Promise<boolean> {
  const peer = await c.trx
    .selectFrom('agents')
    .select('id')
    .where('tenant_id', '=', c.job.tenantId)
    .where('cluster_id', '=', siteId)
    .where('bound_node', 'is not', null)
    .where('revoked_at', 'is', null)
    .where('id', '!=', c.agent.id)
    .limit(1)
    .executeTakeFirst();
  return peer !== undefined;
}

/**
 * Whether the cluster's bound agents know `node`: a member of a cluster report's list or of a
 * stored view (a member left out by the node quota is still in the view), or a node that reported.
 */
async function knownMember(c: JobContext, siteId: string, node: string): Promise<boolean> {
  const inNodes = await c.trx
    .selectFrom('nodes')
    .select('id')
    .where('cluster_id', '=', siteId)
    .where('name', '=', node)
    .executeTakeFirst();
  if (inNodes) return true;
  const inViews = await c.trx
    .selectFrom('membership_nodes')
    .select('name')
    .where('cluster_id', '=', siteId)
    .where('name', '=', node)
    .executeTakeFirst();
  return inViews !== undefined;
}

async function keyOf(c: JobContext, siteId: string): Promise<string> {
  const row = await c.trx.selectFrom('clusters').select('key').where('id', '=', siteId).executeTakeFirst();
  return row?.key ?? `id:${siteId}`;
}
