/** Ingest, guest part: an LXC or QEMU report, its status history and config versions. */
import { randomUUID } from 'node:crypto';
import { configHash, diffConfig, guestEvents, normalizeTags, type ConfigMap } from '../domain/derive.ts';
import { findNode, findSite, nodeIdFor, siteOf } from './ingest-site.ts';
import { configOf, num, str, type JobContext } from './ingest-context.ts';
import type { IngestApplied, IngestRefused } from './storage.ts';
import type { GuestTable } from './types.ts';
import type { GuestFields } from './ingest-batch.ts';
import { parseJson } from './views.ts';

export async function applyGuest(
  c: JobContext,
  type: 'lxc' | 'qemu',
): Promise<IngestApplied | IngestRefused> {
  const p = c.p;
  const nodeName = String(p['node']);
  const vmid = Number(p['vmid']);
  // What exists already is read first: a report that would add a cluster, node or guest over the
  // organisation's quota is refused before it writes anything (M7).
  const known = await findSite(c, nodeName);
  const knownNode = known ? await findNode(c, known.id, nodeName) : undefined;
  // The steady-state path (a known guest reports again) reads its row from the batch (loaded for
  // all the batch's guests in one statement, ingest-batch.ts) and defers its writes to the batch.
  const loaded = known ? c.batch.guest(known.id, vmid) : null;
  const before =
    known && loaded === undefined
      ? (
          await c.raw<GuestTable>(c.trx, 'select * from "guests" where "cluster_id" = ? and "vmid" = ?', [
            known.id,
            vmid,
          ])
        ).rows[0]
      : (loaded ?? undefined);
  // Received before the row's last report of this guest, or before the node's cycle that judged it
  // gone: a stalled replica's late commit. Applied, it would set the status and config back (a
  // false status change there and back, a false config version), move last_seen backwards, or bring
  // a gone guest back until the next cycle. Its usage sample is still stored (ingest.ts), filed at
  // when it was measured; nothing else is written.
  if (known && before && c.late(before.last_seen_at, before.gone_at))
    return {
      ok: true,
      clusterId: known.id,
      ...(before.node_id !== null ? { nodeId: before.node_id } : {}),
      guestId: before.id,
      events: c.events,
      stale: true,
    };
  if (!before) {
    const over = await c.overQuota(
      { clusters: known ? 0 : 1, nodes: knownNode ? 0 : 1, guests: 1 },
      `new ${type} ${vmid} on node ${nodeName}`,
    );
    if (over) return over;
  }
  const site = await siteOf(c, nodeName, false);
  const nodeId = knownNode ?? (await nodeIdFor(c, site.id, nodeName));
  const config = configOf(p);
  const hash = config ? configHash(config) : (before?.config_hash ?? null);
  const status = String(p['status']);
  const name = str(p['name']) ?? str(p['hostname']);
  const fields: GuestFields = {
    type,
    name,
    node_name: nodeName,
    node_id: nodeId,
    status,
    tags: normalizeTags(p['tags'] ?? config?.['tags']).join(',') || null,
    uptime_seconds: num(p['uptime']),
    cpu_cores: num(p['cpu_cores']),
    memory_mb: num(p['memory_mb']),
    template: p['template'] === true ? 1 : 0,
    config_hash: hash,
    last_seen_at: c.at,
    collected_at: str(p['collected_at']),
    gone_at: null,
  };
  let guestId: string;
  if (before) {
    guestId = before.id;
    // SET only what changed: an indexed column in SET costs index maintenance even when its
    // value is the same, and most reports change little besides uptime and last_seen.
    const changed: Record<string, unknown> = { last_seen_at: fields.last_seen_at };
    const prev = before as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(fields)) if (prev[k] !== v) changed[k] = v;
    c.batch.updateGuest(guestId, fields, changed as Partial<GuestFields>);
    c.batch.remember({ ...before, ...fields });
  } else {
    // written at the batch's flush with the batch's other new guests (ingest-batch.ts)
    guestId = randomUUID();
    c.batch.insertGuest(
      { id: guestId, tenant_id: c.job.tenantId, cluster_id: site.id, vmid, first_seen_at: c.at, ...fields },
      JSON.stringify(p),
    );
  }
  if (before) c.batch.updateReport(guestId, JSON.stringify(p));
  if (!before || before.status !== status)
    c.batch.statusChange({
      tenant_id: c.job.tenantId,
      guest_id: guestId,
      ts: c.occurred,
      from_status: before?.status ?? null,
      to_status: status,
    });
  if (config && hash !== before?.config_hash) {
    // the previous config is the latest version, perhaps one this batch has not written yet
    const last = before
      ? (c.batch.pendingConfig(guestId) ??
        (
          await c.trx
            .selectFrom('guest_config_versions')
            .select('config')
            .where('guest_id', '=', guestId)
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst()
        )?.config)
      : undefined;
    const prev = last ? (parseJson(last) as ConfigMap) : null;
    c.batch.configVersion({
      tenant_id: c.job.tenantId,
      guest_id: guestId,
      ts: c.occurred,
      config_hash: hash ?? '',
      config: JSON.stringify(config),
      diff: prev ? JSON.stringify(diffConfig(prev, config)) : null,
    });
  }
  const label = `${type} ${vmid}${name ? ` (${name})` : ''}`;
  c.event(
    'guest',
    { cluster_id: site.id, node_id: nodeId, guest_id: guestId },
    guestEvents(label, before, {
      status,
      node_name: nodeName,
      uptime_seconds: fields.uptime_seconds,
      config_hash: hash,
      gone_at: null,
    }),
  );
  return { ok: true as const, clusterId: site.id, nodeId, guestId, events: c.events };
}
