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
import { GuestRace, IngestBatch } from './ingest-batch.ts';
import type { Db, RawSql } from './sql.ts';
import { JobContext, type AgentRow, type IdCaches, type Site } from './ingest-context.ts';
import { applyCluster } from './ingest-cluster.ts';
import { applyNode } from './ingest-node.ts';
import { applyGuest } from './ingest-guest.ts';
import { applyStorage } from './ingest-storage.ts';
import { applyOps } from './ingest-ops.ts';
import { checkBinding } from './ingest-binding.ts';
import { QuotaLedger } from './ingest-quota.ts';
import { guestUsageRow, writeGuestSamples } from './ingest-usage.ts';
import type { GuestSampleTable } from './types.ts';
import type { GuestTotals } from './reads.ts';

const CACHE_LIMIT = 100_000;
/** SQLite allows 32766 bound parameters: events are inserted 500 rows at a time */
const EVENT_CHUNK = 500;

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
        for (const a of await trx
          .selectFrom('agents')
          .select([
            'id',
            'tenant_id',
            'hostname',
            'token_version',
            'revoked_at',
            'cluster_id',
            'cluster_name',
            'cluster_fingerprint',
            'bound_node',
          ])
          .where('id', 'in', ids)
          .execute())
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
          // A late report (`stale`: received before what its row holds) counts too, on purpose:
          // `last_seen_at` is when the agent last reached a replica (the agents page, the CLI), not
          // a state derived from what it said, and that report did reach one at its receive time.
          // It never moves the time back: the newest of the batch, and the write keeps a newer
          // stored time (ingest-batch.ts agentsSeen); the resend that overtook it was newer anyway.
          const last = seen.get(a.id);
          if (last === undefined || last < job.receivedAt) seen.set(a.id, job.receivedAt);
          out.push(applied);
          if (queue) queued.push(...queue(job, applied));
        }
        await batch.flush();
        // One multi-row INSERT per chunk of the batch's events.
        for (let i = 0; i < events.length; i += EVENT_CHUNK) {
          const chunk = events.slice(i, i + EVENT_CHUNK);
          const rows = await trx
            .insertInto('events')
            .values(chunk.map((e) => ({ ...e, id: undefined, data: e.data ? JSON.stringify(e.data) : null })))
            .returning('id')
            .execute();
          rows.forEach((r, k) => {
            const e = chunk[k];
            if (e) e.id = Number(r.id);
          });
        }
        // The report's facts for a reader elsewhere (the leader's alert engine), in this transaction:
        // acknowledged means queued, and a crash after the commit loses nothing.
        for (let i = 0; i < queued.length; i += EVENT_CHUNK)
          await trx
            .insertInto('ingest_queue')
            .values(queued.slice(i, i + EVENT_CHUNK))
            .execute();
        await writeGuestSamples(trx, raw, usage);
        await batch.agentsSeen(seen);
        return out;
      });
    } catch (err) {
      // The guest rows another replica inserted or updated meanwhile are committed now: run again,
      // it reads them (a report older than what they hold is late then).
      if (err instanceof GuestRace && !again) return ingest(jobs, queue, true);
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
