/**
 * Ingest, operations part (issue 15): an ops report (backups, ha, replication) replaces the
 * previous one of its node and kind, unless that one is newer. HA is cluster-wide: stored once per
 * cluster (node ''), and a report whose manager timestamp is older than the stored one is a stale
 * view (a node that has not seen the master's latest write) and is not kept. Any kind's report
 * received before the stored one is late (issue 14: a replica that stalled with it in hand commits
 * it after a newer report went through another replica) and is not kept either: it would set the
 * backups, HA or replication state back and feed the alert rules an old state. `stale` tells the
 * alert listener to skip it.
 */
import type { OpsKind } from '@nanny/schema';
import type { ExpressionBuilder, OnConflictDatabase, OnConflictTables } from 'kysely';
import { findSite, siteOf } from './ingest-site.ts';
import { num, str, type JobContext } from './ingest-context.ts';
import type { IngestApplied, IngestRefused } from './storage.ts';
import type { CoreDatabase } from './types.ts';

const CLUSTER_WIDE: ReadonlySet<string> = new Set(['ha']);

type OpsConflict = ExpressionBuilder<
  OnConflictDatabase<CoreDatabase, 'ops_reports'>,
  OnConflictTables<'ops_reports'>
>;

/**
 * Whether the incoming report (`excluded`) replaces the stored one: a newer manager timestamp when
 * both have one (the HA state's own order: a node's view may lag the master's whatever its receive
 * time), else a receive time not before the stored one (the same receive time is a replay). Tested
 * in the upsert itself, on the row as committed, so a newer report another replica commits after
 * this batch began (PostgreSQL, read committed) is kept too.
 */
function replaces(eb: OpsConflict, versioned: boolean) {
  const notBefore = eb('ops_reports.received_at', '<=', eb.ref('excluded.received_at'));
  if (!versioned) return notBefore;
  return eb.or([
    eb('ops_reports.version', '<', eb.ref('excluded.version')),
    eb.and([
      eb.or([
        eb('ops_reports.version', 'is', null),
        eb('ops_reports.version', '=', eb.ref('excluded.version')),
      ]),
      notBefore,
    ]),
  ]);
}

export async function applyOps(c: JobContext, kind: OpsKind): Promise<IngestApplied | IngestRefused> {
  const reporter = String(c.p['node']);
  // A fresh agent's first report may be this one: a new cluster counts against the quota (M7).
  if (!(await findSite(c, reporter))) {
    const over = await c.overQuota({ clusters: 1 }, `new cluster of node ${reporter}`);
    if (over) return over;
  }
  const site = await siteOf(c, reporter, false);
  const node = CLUSTER_WIDE.has(kind) ? '' : reporter;
  const version = kind === 'ha' ? num(c.p['manager_timestamp']) : null;
  const row = {
    tenant_id: c.job.tenantId,
    reporter,
    received_at: c.at,
    collected_at: str(c.p['collected_at']),
    version,
    payload: JSON.stringify(c.p),
  };
  // One statement: no row is inserted, a newer one stays (RETURNING yields nothing then).
  const taken = await c.trx
    .insertInto('ops_reports')
    .values({ cluster_id: site.id, node, kind, ...row })
    .onConflict((oc) =>
      oc
        .columns(['cluster_id', 'node', 'kind'])
        .doUpdateSet(row)
        .where((eb) => replaces(eb, version !== null)),
    )
    .returning('kind')
    .executeTakeFirst();
  if (!taken) return { ok: true, clusterId: site.id, events: [], stale: true };
  return { ok: true, clusterId: site.id, events: [] };
}
