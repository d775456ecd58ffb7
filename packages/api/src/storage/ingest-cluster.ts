/** Ingest, cluster part: a cluster report updates its cluster and the members it lists. */
import { randomUUID } from 'node:crypto';
import { clusterEvents, nodeEvents } from '../domain/derive.ts';
import { siteKey } from '../domain/site.ts';
import { bindAgent } from './ingest-site.ts';
import { emptyNode, flag, num, str, strOrEmpty, type JobContext, type Json } from './ingest-context.ts';
import { recordView, refreshMembership } from './membership.ts';
import type { IngestApplied } from './storage.ts';

export async function applyCluster(c: JobContext): Promise<IngestApplied> {
  const p = c.p;
  const name = String(p['cluster_name']);
  const k = siteKey(c.job.kind, c.p, c.agent, name);
  if ('boundId' in k) throw new Error('unreachable: a cluster report always names its cluster');
  const before = await c.trx
    .selectFrom('clusters')
    .select(['id', 'quorate', 'nodes'])
    .where('tenant_id', '=', c.job.tenantId)
    .where('key', '=', k.key)
    .executeTakeFirst();
  const fields = {
    name,
    standalone: 0,
    quorate: flag(p['quorate']),
    nodes: num(p['nodes']),
    version: num(p['version']),
    cluster_id_reported: strOrEmpty(p['cluster_id']),
    last_seen_at: c.at,
    collected_at: str(p['collected_at']),
  };
  const row = await c.trx
    .insertInto('clusters')
    .values({
      id: randomUUID(),
      tenant_id: c.job.tenantId,
      key: k.key,
      fingerprint: k.key.startsWith('fp:') ? k.key.slice(3) : null,
      first_seen_at: c.at,
      ...fields,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'key']).doUpdateSet(fields))
    .returning('id')
    .executeTakeFirstOrThrow();
  const clusterId = row.id;
  // The same quorum state reported by three agents is one fact: events only on a change.
  c.event(
    'cluster',
    { cluster_id: clusterId },
    clusterEvents(name, before, { quorate: fields.quorate, nodes: fields.nodes }, !before),
  );
  await bindAgent(c, clusterId);

  const members = Array.isArray(p['members']) ? (p['members'] as Json[]) : [];
  // Who sent this view: without a reporter it cannot be placed in a partition (old agents), and the
  // members' online flags are taken as before (last report wins).
  const reporter = str(p['reporting_node']) ?? str(members.find((m) => m['local'] === 1)?.['name']);
  if (reporter !== null && members.length > 0) {
    const seen = members
      .filter((m) => str(m['name']) !== null)
      .map((m) => ({ name: String(m['name']), online: m['online'] === 1 }));
    await recordView(c.trx, clusterId, reporter, c.at, fields.quorate === 1, seen);
  }
  if (members.length > 0) {
    const existing = new Map(
      (
        await c.trx
          .selectFrom('nodes')
          .select(['id', 'name', 'online', 'pve_version', 'uptime_seconds'])
          .where('cluster_id', '=', clusterId)
          .execute()
      ).map((n) => [n.name, n]),
    );
    for (const m of members) {
      const mname = str(m['name']);
      if (!mname) continue;
      const before = existing.get(mname);
      const online = flag(m['online']);
      const vals = { node_id: num(m['node_id']), ip: str(m['ip']), online, level: strOrEmpty(m['level']) };
      const r = await c.trx
        .insertInto('nodes')
        .values({
          ...emptyNode(),
          id: randomUUID(),
          tenant_id: c.job.tenantId,
          cluster_id: clusterId,
          name: mname,
          ...vals,
          first_seen_at: c.at,
          last_seen_at: c.at,
        })
        .onConflict((oc) => oc.columns(['cluster_id', 'name']).doUpdateSet(vals))
        .returning('id')
        .executeTakeFirstOrThrow();
      c.pendingNodes.push([`${clusterId}|${mname}`, r.id]);
      const drafts = nodeEvents(
        mname,
        // with a reporter, offline/online events come from the derived membership below
        before
          ? { online: reporter !== null ? online : before.online, pve_version: null, uptime_seconds: null }
          : undefined,
        { online, pve_version: null, uptime_seconds: null },
        true,
      );
      c.event('node', { cluster_id: clusterId, node_id: r.id }, drafts);
    }
  }
  if (reporter !== null && members.length > 0) await refreshMembership(c, clusterId);
  return { ok: true as const, clusterId, events: c.events };
}
