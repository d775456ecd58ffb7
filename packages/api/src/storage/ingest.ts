/**
 * Ingest slice: group commit. One transaction applies a batch of reports (each by its part:
 * ingest-cluster, ingest-node, ingest-guest), stores the events they imply and marks the agents
 * seen; outcomes come back in job order.
 */
import type {
  Dialect,
  FleetEvent,
  IngestJob,
  IngestOutcome,
  IngestStore,
  QueueRow,
  QueueRows,
} from './storage.ts';
import { FirstSeenRace, IngestBatch } from './ingest-batch.ts';
import { NAMED, type Db, type RawSql } from './sql.ts';
import { JobContext, type AgentRow, type IdCaches, type Site } from './ingest-context.ts';
import { applyCluster } from './ingest-cluster.ts';
import { applyNode } from './ingest-node.ts';
import { applyGuest } from './ingest-guest.ts';
import { applyStorage } from './ingest-storage.ts';
import { applyOps } from './ingest-ops.ts';
import { checkBinding } from './ingest-binding.ts';
import { QuotaLedger } from './ingest-quota.ts';
import { guestUsageRow } from './ingest-usage.ts';
import type { GuestSampleTable } from './types.ts';
import type { GuestTotals } from './reads.ts';

const CACHE_LIMIT = 100_000;

const AGENT_COLUMNS = [
  'id',
  'tenant_id',
  'hostname',
  'token_version',
  'revoked_at',
  'cluster_id',
  'cluster_name',
  'cluster_fingerprint',
  'bound_node',
] as const satisfies readonly (keyof AgentRow)[];
/** PostgreSQL: one text whatever the number of agents, so it is a named statement (sql.ts NAMED) */
const PG_SELECT_AGENTS = `select ${AGENT_COLUMNS.map((c) => `"${c}"`).join(', ')} from "agents" where "id" = any(?::text[])`;

function apply(c: JobContext) {
  switch (c.job.kind) {
    case 'cluster':
      return applyCluster(c);
    case 'node':
      return applyNode(c);
    case 'lxc':
    case 'qemu':
      return applyGuest(c, c.job.kind);
    case 'storage':
      return applyStorage(c);
    default:
      return applyOps(c, c.job.kind);
  }
}

export function createIngestStore(db: Db, dialect: Dialect, raw: RawSql, totals: GuestTotals): IngestStore {
  const caches: IdCaches = { sites: new Map(), nodes: new Map() };

  async function ingest(
    jobs: readonly IngestJob[],
    queue?: QueueRows,
    again = false,
  ): Promise<IngestOutcome[]> {
    const pendingSites: [string, Site][] = [];
    const pendingNodes: [string, string][] = [];
    let outcomes: IngestOutcome[];
    try {
      outcomes = await db.transaction().execute(async (trx) => {
        const ids = [...new Set(jobs.map((j) => j.agentId))];
        const agents = new Map<string, AgentRow>();
        for (const a of dialect === 'postgres'
          ? (await raw<AgentRow>(trx, PG_SELECT_AGENTS, [ids], NAMED)).rows
          : await trx.selectFrom('agents').select(AGENT_COLUMNS).where('id', 'in', ids).execute())
          agents.set(a.id, a);
        const out: IngestOutcome[] = [];
        const events: FleetEvent[] = [];
        const queued: QueueRow[] = [];
        const seen = new Map<string, string>();
        const quota = new QuotaLedger(trx);
        const usage: GuestSampleTable[] = [];
        const batch = new IngestBatch(dialect, raw, trx, jobs, agents, caches);
        for (const [index, job] of jobs.entries()) {
          const a = agents.get(job.agentId);
          if (
            !a ||
            a.revoked_at !== null ||
            a.token_version !== job.tokenVersion ||
            a.tenant_id !== job.tenantId
          ) {
            out.push({ ok: false, reason: 'revoked' });
            continue;
          }
          await batch.before(index);
          const ctx = new JobContext(trx, raw, job, a, caches, pendingSites, pendingNodes, quota, batch);
          const refused = await checkBinding(ctx);
          if (refused) {
            out.push(refused);
            continue;
          }
          const applied = await apply(ctx);
          if (!applied.ok) {
            out.push(applied);
            continue;
          }
          events.push(...applied.events);
          if (applied.guestId !== undefined && (job.kind === 'lxc' || job.kind === 'qemu'))
            usage.push(guestUsageRow(applied.guestId, ctx.occurred, job.payload));
          seen.set(a.id, job.receivedAt);
          out.push(applied);
          if (queue) queued.push(...queue(job, applied));
        }
        // What is deferred, the events (their ids set), and the report's facts for a reader elsewhere
        // (the leader's alert engine) in this transaction: acknowledged means queued, and a crash
        // after the commit loses nothing. On PostgreSQL one statement (ingest-fold.ts).
        await batch.close({ events, queued, usage, seen });
        return out;
      });
    } catch (err) {
      // The guests another replica inserted meanwhile are committed now: run again, it reads them.
      if (err instanceof FirstSeenRace && !again) return ingest(jobs, queue, true);
      if (jobs.length === 1) return [{ ok: false, reason: 'error', error: err }];
      // One bad job must not fail its neighbours: replay them one transaction each.
      const each: IngestOutcome[] = [];
      for (const j of jobs) each.push(...(await ingest([j], queue)));
      return each;
    }
    if (outcomes.some((o) => o.ok && o.events.some((e) => e.subject === 'guest'))) totals.clear();
    for (const [k, v] of pendingSites) caches.sites.set(k, v);
    for (const [k, v] of pendingNodes) caches.nodes.set(k, v);
    if (caches.sites.size > CACHE_LIMIT) caches.sites.clear();
    if (caches.nodes.size > CACHE_LIMIT) caches.nodes.clear();
    return outcomes;
  }

  // One batch at a time in this process: a node's binding check (ingest-binding.ts) must see the
  // previous batch's binding committed, or two agents racing for one node would both win.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    ingest(jobs, queue) {
      const run = chain.then(() => ingest(jobs, queue));
      chain = run.catch(() => undefined);
      return run;
    },
  };
}
