/**
 * Ingest slice: group commit. One transaction applies a batch of reports (each by its part:
 * ingest-cluster, ingest-node, ingest-guest), stores the events they imply and marks the agents
 * seen; outcomes come back in job order. On PostgreSQL a batch of guest reports that needs no
 * statement but its reads writes in one statement without a transaction (`ingestPg`).
 */
import { Kysely, PostgresDialect } from 'kysely';
import type { Dialect, IngestJob, IngestOutcome, IngestStore, QueueRows } from './storage.ts';
import { IngestBatch } from './ingest-batch.ts';
import { GuestRace } from './ingest-race.ts';
import type { BatchRest } from './ingest-fold.ts';
import { NAMED, type Db, type RawSql, type Trx } from './sql.ts';
import { JobContext, type AgentRow, type IdCaches, type Site } from './ingest-context.ts';
import { applyCluster } from './ingest-cluster.ts';
import { applyNode } from './ingest-node.ts';
import { applyGuest } from './ingest-guest.ts';
import { applyStorage } from './ingest-storage.ts';
import { applyOps } from './ingest-ops.ts';
import { checkBinding } from './ingest-binding.ts';
import { QuotaLedger } from './ingest-quota.ts';
import { guestUsageRow } from './ingest-usage.ts';
import type { CoreDatabase } from './types.ts';
import type { GuestTotals } from './reads.ts';

const CACHE_LIMIT = 100_000;

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

/** thrown by the refusing handle below: a job of the batch needs a statement of its own */
class NeedsTransaction extends Error {}

/**
 * A handle on which every statement fails with NeedsTransaction (queries still build and compile):
 * PostgreSQL's direct path (below) applies the jobs against it, so a job that would read or write
 * anything beyond the batch's prefetched rows stops the attempt before anything is written.
 */
function refusingHandle(): Trx {
  const db = new Kysely<CoreDatabase>({
    dialect: new PostgresDialect({
      pool: { connect: () => Promise.reject(new NeedsTransaction()), end: () => Promise.resolve() },
    }),
  });
  return db as unknown as Trx;
}

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
const PG_SELECT_AGENTS = `select ${AGENT_COLUMNS.map((c) => `"${c}"`).join(', ')} from "agents" where "id" = any(?::text[])`;

export function createIngestStore(db: Db, dialect: Dialect, raw: RawSql, totals: GuestTotals): IngestStore {
  const caches: IdCaches = { sites: new Map(), nodes: new Map() };
  const refusing = dialect === 'postgres' ? refusingHandle() : undefined;

  /** the batch's agents by id, read through `h` */
  async function readAgents(h: Db, jobs: readonly IngestJob[]): Promise<Map<string, AgentRow>> {
    const ids = [...new Set(jobs.map((j) => j.agentId))];
    const rows =
      dialect === 'postgres'
        ? (await raw<AgentRow>(h, PG_SELECT_AGENTS, [ids], NAMED)).rows
        : await h.selectFrom('agents').select(AGENT_COLUMNS).where('id', 'in', ids).execute();
    return new Map(rows.map((a) => [a.id, a]));
  }

  interface Applied {
    out: IngestOutcome[];
    batch: IngestBatch;
    rest: BatchRest;
  }

  /**
   * Applies the jobs in order: statements through `trx`, guest rows prefetched through `reader`;
   * what the batch writes at its close is left to `batch.close(rest)`.
   */
  async function applyJobs(
    trx: Trx,
    reader: Db,
    jobs: readonly IngestJob[],
    agents: ReadonlyMap<string, AgentRow>,
    queue: QueueRows | undefined,
    pendingSites: [string, Site][],
    pendingNodes: [string, string][],
  ): Promise<Applied> {
    const out: IngestOutcome[] = [];
    const rest: BatchRest = { events: [], queued: [], usage: [], seen: new Map<string, string>() };
    const seen = new Map<string, string>();
    rest.seen = seen;
    // a count locks nothing: read where the guest rows are read (see ingestPg)
    const quota = new QuotaLedger(reader);
    const batch = new IngestBatch(dialect, raw, trx, jobs, agents, caches, reader);
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
      rest.events.push(...applied.events);
      if (applied.guestId !== undefined && (job.kind === 'lxc' || job.kind === 'qemu'))
        rest.usage.push(guestUsageRow(applied.guestId, ctx.occurred, job.payload));
      // A late report (`stale`: received before what its row holds) counts too, on purpose:
      // `last_seen_at` is when the agent last reached a replica (the agents page, the CLI), not
      // a state derived from what it said, and that report did reach one at its receive time.
      // It never moves the time back: the newest of the batch, and the write keeps a newer
      // stored time (the agents-seen statement); the resend that overtook it was newer anyway.
      const last = seen.get(a.id);
      if (last === undefined || last < job.receivedAt) seen.set(a.id, job.receivedAt);
      out.push(applied);
      // The report's facts for a reader elsewhere (the leader's alert engine), in this batch's
      // writes: acknowledged means queued, and a crash after the commit loses nothing.
      if (queue) rest.queued.push(...queue(job, applied));
    }
    return { out, batch, rest };
  }

  /**
   * PostgreSQL. A batch costs the server a few statements whatever its size, and each is a round
   * trip with ~50–100 µs of Node CPU (issue 14): a steady-state batch of guest reports needs only
   * its two reads and one write. Under READ COMMITTED (PostgreSQL's default isolation, which the
   * ingest transaction runs at) every statement reads its own snapshot, inside a transaction or
   * not, and these reads (the agents, the guests, a quota's count) lock nothing: reading before
   * `begin` sees what reading after it would. And one statement is atomic by itself. So a batch of guest reports is first applied against the
   * refusing handle, reading through the connection outside any transaction: if no job needed a
   * statement and the writes fold into one statement, that statement is sent alone (committed
   * when it is answered: acknowledged = committed still holds); if they do not fold, they are
   * written in a transaction (new guests: their insert is checked before the commit). A job that
   * needed a statement of its own (a new site or node, a config's previous version, a binding)
   * stops the attempt before anything was written, and the batch runs in a transaction as before.
   * Any other batch runs in a transaction at once.
   */
  function ingestPg(
    jobs: readonly IngestJob[],
    queue: QueueRows | undefined,
    pendingSites: [string, Site][],
    pendingNodes: [string, string][],
  ): Promise<IngestOutcome[]> {
    return db.connection().execute(async (conn) => {
      const agents = await readAgents(conn, jobs);
      if (refusing && jobs.every((j) => j.kind === 'lxc' || j.kind === 'qemu')) {
        try {
          // copies: the fallback below must not see anything the attempt changed
          const copy = new Map([...agents].map(([id, a]) => [id, { ...a }]));
          const a = await applyJobs(refusing, conn, jobs, copy, queue, pendingSites, pendingNodes);
          if (a.batch.closesInOneStatement(a.rest)) {
            a.batch.writeWith(conn);
            await a.batch.close(a.rest);
            return a.out;
          }
          return await conn.transaction().execute(async (trx) => {
            a.batch.writeWith(trx);
            await a.batch.close(a.rest);
            return a.out;
          });
        } catch (err) {
          if (!(err instanceof NeedsTransaction)) throw err;
          pendingSites.length = 0;
          pendingNodes.length = 0;
        }
      }
      return conn.transaction().execute(async (trx) => {
        const a = await applyJobs(trx, trx, jobs, agents, queue, pendingSites, pendingNodes);
        await a.batch.close(a.rest);
        return a.out;
      });
    });
  }

  async function ingest(
    jobs: readonly IngestJob[],
    queue?: QueueRows,
    again = false,
  ): Promise<IngestOutcome[]> {
    const pendingSites: [string, Site][] = [];
    const pendingNodes: [string, string][] = [];
    let outcomes: IngestOutcome[];
    try {
      outcomes =
        dialect === 'postgres'
          ? await ingestPg(jobs, queue, pendingSites, pendingNodes)
          : await db.transaction().execute(async (trx) => {
              const agents = await readAgents(trx, jobs);
              const a = await applyJobs(trx, trx, jobs, agents, queue, pendingSites, pendingNodes);
              await a.batch.close(a.rest);
              return a.out;
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
