/**
 * Storage growth benchmark (not a test): how many bytes the history costs per node-day and per
 * guest-day, how many rows and bytes one report writes, and that the history stays bounded.
 *
 * A simulated fleet reports at the agent's default rhythm on a fake clock: every node a
 * heartbeat node report each minute, every guest a report each 5-minute cycle, one ingest batch
 * per minute (the group commit). The usage-history job runs every simulated 5 minutes, as the
 * retention module does. Horizons are short (`--raw 1 --fivemin 2 --hourly 3` days) so a few
 * simulated days show the plateau; bytes per row, measured, give the cost at the default horizons.
 *
 *   node --import tsx packages/api/bench/storage-growth.ts [--dialect sqlite|postgres|both]
 *     [--nodes 10] [--guests-per-node 10] [--days 5] [--raw 1] [--fivemin 2] [--hourly 3]
 *
 * Measured: SQLite table + index bytes from `dbstat`, bytes written from /proc/self/io `wchar`
 * (WAL and checkpoint writes of this process: the database runs in it); PostgreSQL
 * `pg_total_relation_size` per table and WAL bytes (`pg_current_wal_lsn` before/after, one
 * database per run so nothing else writes). Rows written from `total_changes()` (SQLite) and
 * `pg_stat_user_tables` inserts + updates (PostgreSQL).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { createKyselyStorage } from '../src/storage/kysely-storage.ts';
import type { Agent, IngestJob, Storage } from '../src/storage/storage.ts';
import type { HistoryHorizons } from '../src/storage/history-types.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const dialectArg = (() => {
  const i = process.argv.indexOf('--dialect');
  return i > 0 ? process.argv[i + 1]! : 'both';
})();
const NODES = arg('nodes', 10);
const GUESTS = arg('guests-per-node', 10);
const DAYS = arg('days', 5);
const H: HistoryHorizons = {
  rawDays: arg('raw', 1),
  fiveMinuteDays: arg('fivemin', 2),
  hourlyDays: arg('hourly', 3),
};
const DEFAULTS: HistoryHorizons = { rawDays: 7, fiveMinuteDays: 90, hourlyDays: 730 };
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const T0 = Date.UTC(2026, 0, 1);
const HISTORY_TABLES = ['node_samples', 'node_rollups', 'guest_samples', 'guest_rollups'] as const;

// Shapes of what a PVE 8 agent sends (heartbeat node report; a cycle's LXC report with config).
const nodeReport = (n: number, m: number) => ({
  name: `pve${n}`,
  trigger: m % 5 === 0 ? 'cycle' : 'heartbeat',
  collected_at: new Date(T0 + m * 60_000).toISOString(),
  online: 1,
  uptime_seconds: 86400 + m * 60,
  cpu_usage_ratio: ((n * 7 + m) % 100) / 100,
  mem_total_bytes: 68_719_476_736,
  mem_used_bytes: 20_000_000_000 + ((m * 1_000_003) % 5_000_000_000),
  rootfs_total_bytes: 100_000_000_000,
  rootfs_used_bytes: 12_000_000_000 + m * 1000,
  load_avg_1m: ((n + m) % 40) / 10,
  interval_seconds: 300,
  heartbeat_interval_seconds: 60,
});
const guestReport = (n: number, g: number, m: number) => ({
  name: `ct${n}-${g}`,
  lxc_id: `lxc/${1000 + n * 100 + g}`,
  status: 'running',
  uptime: 86400 + m * 60,
  vmid: 1000 + n * 100 + g,
  node: `pve${n}`,
  cpu_cores: 2,
  memory_mb: 2048,
  rootfs: `local-lvm:vm-${1000 + n * 100 + g}-disk-0,size=8G`,
  net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:12:34:56,ip=dhcp,type=veth',
  ostype: 'debian',
  hostname: `ct${n}-${g}`,
  collected_at: new Date(T0 + m * 60_000).toISOString(),
  cpu_usage_ratio: ((g * 13 + m) % 100) / 100,
  mem_used_bytes: 500_000_000 + ((m * 7919) % 100_000_000),
  disk_used_bytes: 2_000_000_000 + m * 100,
  net_in_bytes: m * 1_000_000,
  net_out_bytes: m * 400_000,
  config: { arch: 'amd64', cores: 2, hostname: `ct${n}-${g}`, memory: 2048, ostype: 'debian', swap: 512 },
});

interface Probe {
  /** bytes per table (table + its indexes) */
  sizes(): Promise<Record<string, number>>;
  rows(table: string): Promise<number>;
  /** rows inserted + updated so far */
  rowsWritten(): Promise<number>;
  /** bytes the database wrote so far */
  bytesWritten(): Promise<number>;
  /** what autovacuum would do meanwhile (PostgreSQL: plain VACUUM, so dead row versions are reused) */
  vacuum?(): Promise<void>;
  /** rewrites the history tables without dead space (PostgreSQL: VACUUM FULL), for the live size */
  compact?(): Promise<void>;
}

function sqliteProbe(db: Kysely<unknown>): Probe {
  const wchar = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
  return {
    async sizes() {
      const { rows } = await sql<{ tbl: string; bytes: number }>`
        select coalesce(m.tbl_name, d.name) as tbl, sum(d.pgsize) as bytes
        from dbstat d left join sqlite_schema m on m.name = d.name group by 1`.execute(db);
      return Object.fromEntries(rows.map((r) => [r.tbl, Number(r.bytes)]));
    },
    async rows(table) {
      const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db);
      return Number(rows[0]!.n);
    },
    async rowsWritten() {
      const { rows } = await sql<{ n: number }>`select total_changes() as n`.execute(db);
      return Number(rows[0]!.n);
    },
    bytesWritten: () => Promise.resolve(wchar()),
  };
}

function pgProbe(db: Kysely<unknown>, schema: string): Probe {
  return {
    async sizes() {
      const { rows } = await sql<{ t: string; bytes: string }>`
        select c.relname as t, pg_total_relation_size(c.oid) as bytes from pg_class c
        join pg_namespace ns on ns.oid = c.relnamespace where ns.nspname = ${schema} and c.relkind = 'r'`.execute(
        db,
      );
      return Object.fromEntries(rows.map((r) => [r.t, Number(r.bytes)]));
    },
    async rows(table) {
      const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
      return Number(rows[0]!.n);
    },
    async rowsWritten() {
      // the statistics collector lags: flush this backend's counters first (PG 15+)
      await sql`select pg_stat_force_next_flush()`.execute(db).catch(() => undefined);
      const { rows } = await sql<{ n: string }>`
        select coalesce(sum(n_tup_ins + n_tup_upd), 0) as n from pg_stat_user_tables where schemaname = ${schema}`.execute(
        db,
      );
      return Number(rows[0]!.n);
    },
    async bytesWritten() {
      const { rows } = await sql<{
        b: string;
      }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') as b`.execute(db);
      return Number(rows[0]!.b);
    },
    // Autovacuum is off on the build machine's PostgreSQL (and the bench must not depend on its
    // timing): every simulated hour the bench vacuums the tables ingest and the history job write,
    // as autovacuum's default thresholds would about as often at this write rate.
    async vacuum() {
      const { rows } = await sql<{ t: string }>`
        select c.relname as t from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
        where ns.nspname = ${schema} and c.relkind = 'r'`.execute(db);
      for (const r of rows) await sql`vacuum ${sql.table(`${schema}.${r.t}`)}`.execute(db);
    },
    async compact() {
      for (const t of HISTORY_TABLES) await sql`vacuum full ${sql.table(`${schema}.${t}`)}`.execute(db);
    },
  };
}

async function runOn(name: 'sqlite' | 'postgres') {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  let probe: Probe;
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'nanny-growth-'));
    storage = await createKyselyStorage({ sqliteFile: join(dir, 'nannyapi.db') });
    probe = storage.extend((h) => sqliteProbe(h.db as Kysely<unknown>));
    cleanup = async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    };
  } else {
    const schema = `nanny_growth_${randomBytes(4).toString('hex')}`;
    storage = await createKyselyStorage({ databaseUrl: PG_URL, pgSchema: schema, pgPoolSize: 4 });
    probe = storage.extend((h) => pgProbe(h.db as Kysely<unknown>, schema));
    cleanup = async () => {
      await storage.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    };
  }
  try {
    const tenant = await storage.ensureTenant('default', new Date(T0).toISOString());
    const agents: Agent[] = [];
    for (let n = 0; n < NODES; n++)
      agents.push(
        await storage.createAgent({
          tenant_id: tenant.id,
          hostname: `pve${n}`,
          cluster_name: null,
          cluster_fingerprint: null,
          agent_version: null,
          pve_version: null,
          created_at: new Date(T0).toISOString(),
        }),
      );
    const report = (
      a: Agent,
      kind: IngestJob['kind'],
      payload: Record<string, unknown>,
      m: number,
    ): IngestJob => ({
      tenantId: tenant.id,
      agentId: a.id,
      tokenVersion: a.token_version,
      kind,
      payload,
      receivedAt: new Date(T0 + m * 60_000 + 2000).toISOString(),
    });
    /** what the history job (rollups, retention) wrote, apart from ingest */
    const jobWrote = { bytes: 0, rows: 0 };
    /** WAL the periodic VACUUM wrote (PostgreSQL), apart from both */
    let vacuumWrote = 0;
    let reports = 0;
    let payloadBytes = 0;
    let nodeReports = 0;
    let guestReports = 0;
    const w0 = { rows: await probe.rowsWritten(), bytes: await probe.bytesWritten() };
    const size0 = Object.values(await probe.sizes()).reduce((a, b) => a + b, 0);
    const perDay: string[] = [];
    let growth: { bytes: number; rows: number; written: number } | undefined;
    const started = Date.now();
    for (let m = 0; m < DAYS * 1440; m++) {
      const jobs: IngestJob[] = [];
      for (let n = 0; n < NODES; n++) {
        const p = nodeReport(n, m);
        jobs.push(report(agents[n]!, 'node', p, m));
        payloadBytes += JSON.stringify(p).length;
        nodeReports++;
        if (m % 5 === 0)
          for (let g = 0; g < GUESTS; g++) {
            const q = guestReport(n, g, m);
            jobs.push(report(agents[n]!, 'lxc', q, m));
            payloadBytes += JSON.stringify(q).length;
            guestReports++;
          }
      }
      const out = await storage.ingest(jobs);
      if (out.some((o) => !o.ok)) throw new Error(`ingest failed: ${JSON.stringify(out.find((o) => !o.ok))}`);
      reports += jobs.length;
      if (m % 5 === 4) {
        const b = await probe.bytesWritten();
        const r = await probe.rowsWritten();
        await storage.maintainHistory(T0 + (m + 1) * 60_000, H);
        jobWrote.bytes += (await probe.bytesWritten()) - b;
        jobWrote.rows += (await probe.rowsWritten()) - r;
      }
      if (m % 60 === 59 && probe.vacuum) {
        const b = await probe.bytesWritten();
        await probe.vacuum();
        vacuumWrote += (await probe.bytesWritten()) - b;
      }
      if (m === H.rawDays * 1440 - 1) {
        // before anything reaches a horizon: growth is all there is
        const size = Object.values(await probe.sizes()).reduce((a, b) => a + b, 0);
        growth = {
          bytes: size - size0,
          rows: (await probe.rowsWritten()) - w0.rows,
          written: (await probe.bytesWritten()) - w0.bytes,
        };
      }
      if (m % 1440 === 1439) {
        const counts = await Promise.all(HISTORY_TABLES.map((t) => probe.rows(t)));
        perDay.push(`day ${(m + 1) / 1440}: ${HISTORY_TABLES.map((t, i) => `${t} ${counts[i]}`).join(', ')}`);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const written = {
      rows: (await probe.rowsWritten()) - w0.rows,
      bytes: (await probe.bytesWritten()) - w0.bytes,
    };
    const sizes = await probe.sizes();
    let compacted: Record<string, number> | undefined;
    if (probe.compact) {
      await probe.compact();
      compacted = await probe.sizes();
    }
    const rows = Object.fromEntries(
      await Promise.all(HISTORY_TABLES.map(async (t) => [t, await probe.rows(t)] as const)),
    );
    const bytesPerRow = (t: string) => (rows[t] ? (sizes[t] ?? 0) / rows[t] : 0);
    // Rows one series keeps at a horizon: raw at its rate, then 12 and 24 rollups a day per level.
    const nodeDay = (h: HistoryHorizons) =>
      (1440 * h.rawDays * bytesPerRow('node_samples') +
        (288 * h.fiveMinuteDays + 24 * h.hourlyDays) * bytesPerRow('node_rollups')) /
      h.hourlyDays;
    const guestDay = (h: HistoryHorizons) =>
      (288 * h.rawDays * bytesPerRow('guest_samples') +
        (288 * h.fiveMinuteDays + 24 * h.hourlyDays) * bytesPerRow('guest_rollups')) /
      h.hourlyDays;
    const steady = (h: HistoryHorizons) => ({
      node:
        1440 * h.rawDays * bytesPerRow('node_samples') +
        (288 * h.fiveMinuteDays + 24 * h.hourlyDays) * bytesPerRow('node_rollups'),
      guest:
        288 * h.rawDays * bytesPerRow('guest_samples') +
        (288 * h.fiveMinuteDays + 24 * h.hourlyDays) * bytesPerRow('guest_rollups'),
    });
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
    const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    console.log(
      `\n== ${name}: ${NODES} nodes, ${NODES * GUESTS} guests, ${DAYS} simulated days, horizons ${JSON.stringify(H)}`,
    );
    console.log(`reports ${reports} (${nodeReports} node, ${guestReports} guest) in ${seconds.toFixed(0)} s`);
    for (const l of perDay) console.log(l);
    console.log('table bytes (table + indexes) / rows / bytes per row:');
    for (const t of HISTORY_TABLES)
      console.log(`  ${t}: ${mb(sizes[t] ?? 0)} / ${rows[t]} / ${bytesPerRow(t).toFixed(1)}`);
    if (compacted) {
      console.log('after VACUUM FULL of the history tables (live rows only; a lower bound):');
      for (const t of HISTORY_TABLES)
        console.log(
          `  ${t}: ${mb(compacted[t] ?? 0)} / ${rows[t]} / ${(rows[t] ? (compacted[t] ?? 0) / rows[t] : 0).toFixed(1)}`,
        );
    }
    console.log(`whole database: ${mb(Object.values(sizes).reduce((a, b) => a + b, 0))}`);
    const d = steady(DEFAULTS);
    console.log(
      `held per series at the default horizons (7 d raw, 90 d 5-min, 2 y hourly): node ${mb(d.node)}, guest ${mb(d.guest)}`,
    );
    console.log(
      `  = per node-day ${kb(nodeDay(DEFAULTS))}, per guest-day ${kb(guestDay(DEFAULTS))} (averaged over the 2 years kept)`,
    );
    console.log(
      `first week (raw only): node-day ${kb(1440 * bytesPerRow('node_samples'))}, guest-day ${kb(288 * bytesPerRow('guest_samples'))}`,
    );
    console.log(
      `written per report: ${(written.rows / reports).toFixed(2)} rows, ${(written.bytes / reports).toFixed(0)} bytes; payload ${(payloadBytes / reports).toFixed(0)} bytes`,
    );
    console.log(
      `  of which ingest ${((written.rows - jobWrote.rows) / reports).toFixed(2)} rows, ${((written.bytes - jobWrote.bytes - vacuumWrote) / reports).toFixed(0)} bytes; history job ${(jobWrote.rows / reports).toFixed(2)} rows, ${(jobWrote.bytes / reports).toFixed(0)} bytes` +
        (vacuumWrote ? `; VACUUM ${(vacuumWrote / reports).toFixed(0)} bytes` : ''),
    );
    console.log(
      `  bytes written / bytes received (JSON payloads): ${(written.bytes / payloadBytes).toFixed(1)}x`,
    );
    if (growth)
      console.log(
        `growth phase (first ${H.rawDays} d): written ${mb(growth.written)} for ${mb(growth.bytes)} of database growth = ${(growth.written / growth.bytes).toFixed(1)}x write amplification`,
      );
  } finally {
    await cleanup();
  }
}

for (const d of dialectArg === 'both'
  ? (['sqlite', 'postgres'] as const)
  : [dialectArg as 'sqlite' | 'postgres'])
  await runOn(d);
