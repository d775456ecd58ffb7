/** Ingest, node part: a node's own report, its history sample, and the guests its cycle left out. */
import { randomUUID } from 'node:crypto';
import { nodeEvents } from '../domain/derive.ts';
import { bindAgent, findSite, siteOf } from './ingest-site.ts';
import { flag, num, str, strOrEmpty, type JobContext } from './ingest-context.ts';
import { hasViews, recordNodeReport, refreshMembership } from './membership.ts';
import type { IngestApplied, IngestRefused } from './storage.ts';
import { affected } from './sql.ts';

export async function applyNode(c: JobContext): Promise<IngestApplied | IngestRefused> {
  const p = c.p;
  const name = String(p['name']);
  // Read before writing: a new cluster or node over the organisation's quota is refused (M7).
  const known = await findSite(c, name);
  const before = known
    ? await c.trx
        .selectFrom('nodes')
        .select([
          'id',
          'online',
          'pve_version',
          'uptime_seconds',
          'cycle_started_at',
          'last_report_at',
          'report',
        ])
        .where('cluster_id', '=', known.id)
        .where('name', '=', name)
        .executeTakeFirst()
    : undefined;
  // The spec's node body has no `online`: a node whose own agent reports is online.
  const online = flag(p['online']) ?? 1;
  // Received before the node's stored report: its values are older than the row's (a false
  // downgrade, a false reboot from a lower uptime, an old cycle judging guests gone).
  if (known && before && c.late(before.last_report_at)) return late(c, known.id, before.id, online);
  if (!before) {
    const over = await c.overQuota({ clusters: known ? 0 : 1, nodes: 1 }, `new node ${name}`);
    if (over) return over;
  }
  const site = await siteOf(c, name, true);
  const fields = {
    node_id: num(p['node_id']),
    ip: str(p['ip']),
    online,
    local: flag(p['local']),
    level: strOrEmpty(p['level']),
    pve_version: str(p['pve_version']),
    uptime_seconds: num(p['uptime_seconds']),
    cpu_usage_ratio: num(p['cpu_usage_ratio']),
    mem_total_bytes: num(p['mem_total_bytes']),
    mem_used_bytes: num(p['mem_used_bytes']),
    rootfs_total_bytes: num(p['rootfs_total_bytes']),
    rootfs_used_bytes: num(p['rootfs_used_bytes']),
    load_avg_1m: num(p['load_avg_1m']),
    kernel_version: str(p['kernel_version']),
    report: JSON.stringify(p),
    last_seen_at: c.at,
    last_report_at: c.at,
    collected_at: str(p['collected_at']),
    cycle_started_at: c.at,
  };
  // Only a cycle's node report opens a cycle (guests follow it). A watch `change` or a `heartbeat`
  // report (agent's `trigger`) carries what it measured, from /proc alone: a field it leaves out is
  // "not measured", so the stored value stays, and the guests are not judged gone.
  const cycle = p['trigger'] === undefined || p['trigger'] === 'cycle';
  const update: Partial<typeof fields> = cycle ? fields : measuredOnly(fields, before?.report, p);
  // The row takes the report only if it holds none received later: checked above on the row as
  // read, and again in the write itself, so a newer report another replica commits in between
  // (PostgreSQL, read committed) is not overwritten either.
  let nodeId: string;
  if (before) {
    nodeId = before.id;
    const r = await c.trx
      .updateTable('nodes')
      .set(update)
      .where('id', '=', nodeId)
      .where((eb) => eb.or([eb('last_report_at', 'is', null), eb('last_report_at', '<=', c.at)]))
      .executeTakeFirst();
    if (affected(r.numUpdatedRows) === 0) return late(c, site.id, nodeId, online);
  } else {
    const r = await c.trx
      .insertInto('nodes')
      .values({
        id: randomUUID(),
        tenant_id: c.job.tenantId,
        cluster_id: site.id,
        name,
        first_seen_at: c.at,
        ...fields,
      })
      .onConflict((oc) =>
        oc
          .columns(['cluster_id', 'name'])
          .doUpdateSet(fields)
          .where((eb) =>
            eb.or([eb('nodes.last_report_at', 'is', null), eb('nodes.last_report_at', '<=', c.at)]),
          ),
      )
      .returning('id')
      .executeTakeFirst();
    if (!r) {
      // another replica stored the node meanwhile, with a report received after this one
      const row = await c.trx
        .selectFrom('nodes')
        .select('id')
        .where('cluster_id', '=', site.id)
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      return late(c, site.id, row.id, online);
    }
    nodeId = r.id;
  }
  c.pendingNodes.push([`${site.id}|${name}`, nodeId]);
  // false when the cluster's rows already hold a newer report of this node: a late commit by a
  // stalled replica, which changes no membership row and so derives nothing (below)
  const taken = await recordNodeReport(
    c.trx,
    site.id,
    name,
    c.at,
    num(p['interval_seconds']),
    num(p['heartbeat_interval_seconds']),
  );
  // In a cluster whose reporters' views are kept, going offline and coming back are decided by the
  // derived membership (refreshMembership), not by this report contradicting a peer's view.
  const derived = await hasViews(c.trx, site.id);
  const prior =
    before && before.last_report_at !== null
      ? before
      : before
        ? { online: before.online, pve_version: null, uptime_seconds: null }
        : undefined;
  c.event(
    'node',
    { cluster_id: site.id, node_id: nodeId },
    nodeEvents(
      name,
      prior && derived ? { ...prior, online: fields.online } : prior,
      cycle || !before ? fields : { ...fields, ...before, ...update },
    ),
  );
  if (derived && taken) await refreshMembership(c, site.id);
  await storeSample(c, nodeId, online);
  await bindAgent(c, site.id);

  // "Gone": a node report opens a new cycle and so closes the previous one (node → cluster →
  // guests is the agent's order). A guest of this node not reported since the previous cycle
  // began was absent from a complete cycle.
  const prevCycle = before?.cycle_started_at;
  if (prevCycle && cycle) {
    const gone = await c.trx
      .updateTable('guests')
      .set({ gone_at: c.at })
      .where('node_id', '=', nodeId)
      .where('gone_at', 'is', null)
      .where('last_seen_at', '<', prevCycle)
      .returning(['id', 'vmid', 'type', 'name'])
      .execute();
    for (const g of gone)
      c.event('guest', { cluster_id: site.id, node_id: nodeId, guest_id: g.id }, [
        {
          type: 'gone',
          message: `${g.type} ${g.vmid}${g.name ? ` (${g.name})` : ''} is gone from ${name}`,
          data: { vmid: g.vmid },
        },
      ]);
  }
  return { ok: true as const, clusterId: site.id, nodeId, events: c.events };
}

/**
 * A node report received before the one the row holds: only its history sample is stored (filed at
 * when it was measured: a spool replayed after an outage still fills the charts). The row, the
 * membership, the agent's binding and the guests stay as the newer report left them; `stale` keeps
 * its facts from the alert engine (ingest/committer.ts).
 */
async function late(
  c: JobContext,
  clusterId: string,
  nodeId: string,
  online: number,
): Promise<IngestApplied> {
  c.pendingNodes.push([`${clusterId}|${String(c.p['name'])}`, nodeId]);
  await storeSample(c, nodeId, online);
  return { ok: true, clusterId, nodeId, events: c.events, stale: true };
}

async function storeSample(c: JobContext, nodeId: string, online: number): Promise<void> {
  const p = c.p;
  await c.trx
    .insertInto('node_samples')
    .values({
      tenant_id: c.job.tenantId,
      node_id: nodeId,
      ts: c.occurred,
      received_at: c.at,
      online,
      cpu_usage_ratio: num(p['cpu_usage_ratio']),
      mem_used_bytes: num(p['mem_used_bytes']),
      mem_total_bytes: num(p['mem_total_bytes']),
      rootfs_used_bytes: num(p['rootfs_used_bytes']),
      rootfs_total_bytes: num(p['rootfs_total_bytes']),
      load_avg_1m: num(p['load_avg_1m']),
      uptime_seconds: num(p['uptime_seconds']),
      swap_used_bytes: num(p['swap_used_bytes']),
      swap_total_bytes: num(p['swap_total_bytes']),
      io_wait_ratio: num(p['io_wait_ratio']),
      load_avg_5m: num(p['load_avg_5m']),
      load_avg_15m: num(p['load_avg_15m']),
      net_in_bytes: num(p['net_in_bytes']),
      net_out_bytes: num(p['net_out_bytes']),
    })
    // A replayed report (spool after an outage, lost answer) is one sample, not two.
    .onConflict((oc) => oc.columns(['node_id', 'ts']).doNothing())
    .execute();
}

/** The fields an out-of-cycle report measured; its JSON laid over the stored report's. */
function measuredOnly<F extends Record<string, unknown>>(
  fields: F,
  storedReport: string | null | undefined,
  payload: Record<string, unknown>,
): Partial<F> {
  const out: Partial<F> = {};
  for (const [k, v] of Object.entries(fields) as [keyof F, F[keyof F]][]) {
    if (v !== null && v !== undefined && k !== 'cycle_started_at') out[k] = v;
  }
  let stored: Record<string, unknown> = {};
  try {
    stored = storedReport ? (JSON.parse(storedReport) as Record<string, unknown>) : {};
  } catch {
    stored = {};
  }
  (out as Record<string, unknown>)['report'] = JSON.stringify({ ...stored, ...payload });
  return out;
}
