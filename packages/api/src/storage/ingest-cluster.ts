/** Ingest, cluster part: a cluster report updates its cluster and the members it lists. */
import { randomUUID } from 'node:crypto';
import { clusterEvents, nodeEvents } from '../domain/derive.ts';
import { siteKey } from '../domain/site.ts';
import { bindAgent, clusterIdByKey, laterSeen } from './ingest-site.ts';
import { emptyNode, flag, num, str, strOrEmpty, type JobContext, type Json } from './ingest-context.ts';
import { quorumLost, recordView, refreshMembership } from './membership.ts';
import type { IngestApplied, IngestRefused } from './storage.ts';

export async function applyCluster(c: JobContext): Promise<IngestApplied | IngestRefused> {
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
  if (!before) {
    const over = await c.overQuota({ clusters: 1 }, `new cluster ${name}`);
    if (over) return over;
  }
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
  // The row takes the report unless it holds one received later (each agent of a cluster sends
  // one, and a stalled replica commits its report late): an old report would set the quorate, node
  // count and version back. The test is in the upsert, so two replicas committing at once agree.
  // `last_seen_at` (node and guest reports move it too, ingest-site.ts) only moves forward.
  const row = await c.trx
    .insertInto('clusters')
    .values({
      id: randomUUID(),
      tenant_id: c.job.tenantId,
      key: k.key,
      fingerprint: k.key.startsWith('fp:') ? k.key.slice(3) : null,
      first_seen_at: c.at,
      ...fields,
      last_report_at: c.at,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'key'])
        .doUpdateSet((eb) => ({
          ...fields,
          last_seen_at: laterSeen(eb),
          last_report_at: c.at,
        }))
        .where((eb) =>
          eb.or([eb('clusters.last_report_at', 'is', null), eb('clusters.last_report_at', '<=', c.at)]),
        ),
    )
    .returning('id')
    .executeTakeFirst();
  const rowTaken = row !== undefined;
  const clusterId =
    row?.id ??
    before?.id ??
    // another replica stored the cluster meanwhile, with a report received after this one
    (await clusterIdByKey(c, k.key)) ??
    missing(k.key);
  const members = Array.isArray(p['members']) ? (p['members'] as Json[]) : [];
  // Who sent this view: without a reporter it cannot be placed in a partition (old agents), and the
  // members' online flags are taken as before (last report wins).
  const reporter = str(p['reporting_node']) ?? str(members.find((m) => m['local'] === 1)?.['name']);
  const viewed = reporter !== null && members.length > 0;
  // The same quorum state reported by three agents is one fact: events only on a change. With
  // views, "lost" means some fresh view says not quorate (derived), so a cut-off minority saying 0
  // and the majority saying 1 in turns is one quorum_lost, not a lost/regained pair per report.
  const lostBefore = viewed && before ? await quorumLost(c.trx, clusterId, c.at) : undefined;
  if (rowTaken)
    c.event(
      'cluster',
      { cluster_id: clusterId },
      clusterEvents(
        name,
        before && lostBefore !== undefined ? { ...before, quorate: fields.quorate } : before,
        { quorate: fields.quorate, nodes: fields.nodes },
        !before,
      ),
    );

  // false when the view was collected before the stored one (or is that one again): a late commit
  // by a stalled replica, which changes no derived state and records no membership events
  let taken = false;
  if (reporter !== null && viewed) {
    const seen = members
      .filter((m) => str(m['name']) !== null)
      .map((m) => ({ name: String(m['name']), online: m['online'] === 1 }));
    // When it was collected (none, or not a time: receive order, as before), clamped as history
    // times are (domain/report-time.ts; an agent clock in year 9999 would otherwise hold its
    // reporter's view against every later report) and normalised so the database compares text.
    const collected = Number.isFinite(Date.parse(fields.collected_at ?? ''))
      ? new Date(c.occurred).toISOString()
      : null;
    taken = await recordView(c.trx, clusterId, reporter, c.at, collected, fields.quorate === 1, seen);
    if (taken && lostBefore !== undefined) {
      const lostAfter = await quorumLost(c.trx, clusterId, c.at);
      if (lostAfter !== lostBefore)
        c.event(
          'cluster',
          { cluster_id: clusterId },
          clusterEvents(
            name,
            { quorate: lostBefore ? 0 : 1, nodes: fields.nodes },
            { quorate: lostAfter ? 0 : 1, nodes: fields.nodes },
            false,
          ),
        );
    }
  }
  // Neither the row nor the view taken: the report is late and changes nothing (`stale`: no facts
  // for the alert engine, ingest/committer.ts).
  if (!rowTaken && !taken) return { ok: true as const, clusterId, events: c.events, stale: true };
  await bindAgent(c, clusterId);
  // The members' rows (address, level, online as the reporter saw them) follow the newest cluster
  // report, as the row does: a report the row did not take lists them as they were before.
  if (rowTaken && members.length > 0) {
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
      // A member new to us over the node quota is left out (M7); the report's other facts, and the
      // members already stored, are kept. Its own agent's node report is the one refused.
      if (!before && (await c.overQuota({ nodes: 1 }, `new node ${mname}`))) continue;
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
  if (taken) await refreshMembership(c, clusterId);
  return { ok: true as const, clusterId, events: c.events };
}

function missing(key: string): never {
  throw new Error(`cluster ${key}: neither stored nor taken by this report`);
}
