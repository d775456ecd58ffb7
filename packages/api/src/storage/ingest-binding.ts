/**
 * Ingest, binding part (issue 13, M2): an agent reports for the one node it is bound to, in the one
 * cluster it is bound to. Checked before a report writes anything, inside the batch transaction, so
 * a refused report leaves no trace and two agents cannot race for the same node.
 */
import { boundNodeOf, siteKey } from '../domain/site.ts';
import type { JobContext } from './ingest-context.ts';
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
      : (c.caches.sites.get(`${c.job.tenantId}|${k.key}`)?.id ??
        (
          await c.trx
            .selectFrom('clusters')
            .select('id')
            .where('tenant_id', '=', c.job.tenantId)
            .where('key', '=', k.key)
            .executeTakeFirst()
        )?.id);
  if (c.agent.cluster_id !== null && siteId !== c.agent.cluster_id)
    return refuse(
      `this agent reports for another cluster; a report for ${'boundId' in k ? 'it' : k.name} is refused (an admin can rebind the agent)`,
    );
  // A cluster report naming no reporter binds no node: the agent's node report will.
  if (c.agent.bound_node === null && stated) {
    if (siteId !== undefined) {
      const holder = await c.trx
        .selectFrom('agents')
        .select('id')
        .where('tenant_id', '=', c.job.tenantId)
        .where('cluster_id', '=', siteId)
        .where('bound_node', '=', node)
        .where('revoked_at', 'is', null)
        .where('id', '!=', c.agent.id)
        .executeTakeFirst();
      // A node's own agent is the only one that speaks for it (revoke or rebind the old one first).
      if (holder) return refuse(`node ${node} is reported by another agent (${holder.id})`);
    }
    await c.trx.updateTable('agents').set({ bound_node: node }).where('id', '=', c.agent.id).execute();
    c.agent.bound_node = node;
  }
  return undefined;
}
