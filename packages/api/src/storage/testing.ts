/**
 * The storage dialects every storage test runs against (kysely's DIALECTS loop): SQLite in memory,
 * and PostgreSQL at 127.0.0.1:5432 (database `test`, trust auth) in a schema of its own per storage,
 * dropped afterwards so parallel runs do not collide. Without PostgreSQL the case skips plainly.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requires, tempDir } from '@nanny/testing';
import { createKyselyStorage } from './kysely-storage.ts';
import type { EvaluationBatch, EvaluationCommit } from './alert-evaluation.ts';
import type { Agent, IngestJob, Storage } from './storage.ts';
import type { HistoryHorizons, HistoryRange } from './history-types.ts';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: Promise<boolean> | undefined;
export function postgresReachable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('select 1');
      await vacuumCatalogs(c);
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return pgReachable;
}

/**
 * Every PostgreSQL storage test makes a schema of its own and drops it, hundreds per run; each
 * leaves dead rows in the system catalogs. On a server with autovacuum off (this machine's test
 * server is one) they pile up across runs: after two full runs pg_attribute held 230,000 dead rows
 * and a test that scans the catalogs went from 1.3 s to 24 s. Each test process therefore vacuums
 * the catalogs once, the first time it looks for the server. Not allowed (not the owner): no harm.
 */
async function vacuumCatalogs(c: pg.Client): Promise<void> {
  for (const table of ['pg_attribute', 'pg_class', 'pg_type', 'pg_depend', 'pg_namespace', 'pg_attrdef'])
    await c.query(`VACUUM pg_catalog.${table}`).catch(() => undefined);
}

export interface DialectUnderTest {
  name: 'sqlite' | 'postgres';
  /** undefined when the dialect is unavailable here (the test must skip with `skipReason`) */
  open(): Promise<
    { storage: Storage; cleanup: () => Promise<void>; databaseUrl?: string; pgSchema?: string } | undefined
  >;
  skipReason: string;
}

export const DIALECTS: DialectUnderTest[] = [
  {
    name: 'sqlite',
    skipReason: '',
    async open() {
      const storage = await createKyselyStorage({ sqliteFile: ':memory:' });
      return { storage, cleanup: () => storage.close() };
    },
  },
  {
    name: 'postgres',
    skipReason: `PostgreSQL not reachable at ${PG_URL}: PostgreSQL storage tests skipped`,
    async open() {
      if (!(await postgresReachable())) return undefined;
      const schema = `nanny_t_${randomBytes(6).toString('hex')}`;
      const storage = await createKyselyStorage({ databaseUrl: PG_URL, pgSchema: schema, pgPoolSize: 4 });
      return {
        storage,
        databaseUrl: PG_URL,
        pgSchema: schema,
        cleanup: async () => {
          await storage.close();
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          try {
            await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          } finally {
            await c.end();
          }
        },
      };
    },
  },
];

/** one tenant's evaluation batch, committed as the leader would (no queue rows, no fence) */
export function applyBatch(
  store: { commitEvaluation(c: EvaluationCommit): Promise<{ queued: number }> },
  batch: EvaluationBatch,
  at = 0,
): Promise<{ queued: number }> {
  return store.commitEvaluation({ batches: [batch], consumed: [], at });
}

/** runs one query in `schema` of the test PostgreSQL (the replica tests look at the queue and tables) */
export async function pgQuery<R>(schema: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as R[];
  } finally {
    await c.end();
  }
}

export async function dropPgSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

// ------------------------------------------------------------------ usage history fixture
/** the history tests' clock origin and horizons */
const HISTORY_T0 = Date.UTC(2026, 0, 1);
export const at = (minute: number): string => new Date(HISTORY_T0 + minute * 60_000).toISOString();
export const KEEP: HistoryHorizons = { rawDays: 7, fiveMinuteDays: 90, hourlyDays: 730 };
export const range = (
  resolution: HistoryRange['resolution'],
  from = at(-60),
  to = at(60 * 24 * 400),
): HistoryRange => ({ from, to, resolution, limit: 10_000 });

/** SQLite in a file (WAL, as served) instead of in memory; PostgreSQL as every storage test runs it */
export const HISTORY_CASES = DIALECTS.map((dialect) => ({
  dialect,
  file: dialect.name === 'sqlite',
  name: dialect.name === 'sqlite' ? 'sqlite (file)' : dialect.name,
}));

/**
 * A database per test case (the history job's watermarks are the database's, its clock starts at
 * `at(0)`), an agent per call, and a node with one guest reporting every minute.
 */
export function historyFixture(c: (typeof HISTORY_CASES)[number]) {
  let s: Storage | undefined;
  let schema: string | undefined;
  const storage = (): Storage => {
    if (!s) throw new Error('open() first');
    return s;
  };
  /** true: the case is skipped (no PostgreSQL here) */
  const open = async (t: TestContext): Promise<boolean> => {
    const opened = c.file
      ? await (async () => {
          const st = await createKyselyStorage({ sqliteFile: join(tempDir(t, 'history'), 'nanny.db') });
          return { storage: st, cleanup: () => st.close() };
        })()
      : await c.dialect.open();
    if (!requires(t, 'postgres', opened !== undefined, c.dialect.skipReason)) return true;
    t.after(() => opened?.cleanup());
    s = opened!.storage;
    schema = (opened as { pgSchema?: string }).pgSchema;
    await s.ensureTenant('default', at(0));
    return false;
  };
  let n = 0;
  const agent = async (): Promise<Agent> =>
    storage().createAgent({
      tenant_id: (await storage().createTenant(`h-${c.name}-${++n}`, at(0))).id,
      hostname: `h${n}`,
      cluster_name: null,
      cluster_fingerprint: null,
      agent_version: null,
      pve_version: null,
      created_at: at(0),
    });
  const job = (
    a: Agent,
    kind: IngestJob['kind'],
    payload: Record<string, unknown>,
    minute: number,
  ): IngestJob => ({
    tenantId: a.tenant_id,
    agentId: a.id,
    tokenVersion: a.token_version,
    kind,
    payload,
    receivedAt: at(minute),
  });
  /** a node and one guest reporting every minute for `minutes`: cpu = minute / 100, node load 5m = minute */
  async function fleet(a: Agent, minutes: number) {
    for (let m = 0; m < minutes; m++) {
      const out = await storage().ingest([
        job(
          a,
          'node',
          {
            name: 'n1',
            cpu_usage_ratio: m / 100,
            mem_used_bytes: 1000 + m,
            online: 1,
            // swap, I/O wait, load 5/15 (migration 0401): kept too
            swap_used_bytes: 500 + m,
            swap_total_bytes: 4096,
            io_wait_ratio: m / 1000,
            load_avg_5m: m,
            load_avg_15m: 2 * m,
            // physical NICs' counters (migration 0402): in += 1000, out += 10 a minute
            net_in_bytes: 1_000_000 + m * 1000,
            net_out_bytes: 5000 + m * 10,
          },
          m,
        ),
        job(
          a,
          'lxc',
          {
            vmid: 100,
            node: 'n1',
            status: 'running',
            cpu_usage_ratio: m / 100,
            mem_used_bytes: 2000 + m,
            disk_used_bytes: 50,
            net_in_bytes: 10_000 + m * 100,
            net_out_bytes: 5000 + m * 10,
          },
          m,
        ),
      ]);
      for (const o of out) if (!o.ok) throw new Error(JSON.stringify(o));
    }
    const nodeId = (await storage().listNodes(a.tenant_id, {}))[0]!.id;
    const guestId = (await storage().listGuests(a.tenant_id, { limit: 1, offset: 0 })).data[0]!.id;
    return { nodeId, guestId };
  }
  /** the PostgreSQL schema of the case's database */
  const pgSchema = () => schema;
  return { open, storage, pgSchema, agent, job, fleet };
}

/**
 * A new organisation with one agent per hostname, all of cluster `prod` (`fingerprint`), created
 * at `at`: hostname → agent id. The late-report tests build a cluster's reporters this way.
 */
export async function clusterAgents(
  storage: Storage,
  org: string,
  hostnames: readonly string[],
  fingerprint: string,
  at: string,
): Promise<{ tenantId: string; agents: Record<string, string> }> {
  const tenant = await storage.ensureTenant(org, at);
  const agents: Record<string, string> = {};
  for (const hostname of hostnames)
    agents[hostname] = (
      await storage.createAgent({
        tenant_id: tenant.id,
        hostname,
        cluster_name: 'prod',
        cluster_fingerprint: fingerprint,
        agent_version: null,
        pve_version: null,
        created_at: at,
      })
    ).id;
  return { tenantId: tenant.id, agents };
}
