/**
 * Group-commit batch cost on the storage alone (not a test): no HTTP, no listeners. Ingests the
 * spec's LXC body through `storage.ingest` in batches of 1, 5 and 25 (twice each) on SQLite (a file
 * in memory) and on PostgreSQL (a schema of its own, dropped afterwards), and prints the Node
 * process's CPU (user and system) per batch and per report, the wall time per batch, and on
 * PostgreSQL the CPU its server processes serving this process's connections spent per batch
 * (`/proc/PID/schedstat`, nanoseconds) and the statements one batch sends (counted on
 * `pg.Client.prototype.query`).
 *
 *   node --import tsx packages/api/bench/batch-cost.ts [--reports 3000] [--only sqlite|postgres]
 */
import process from 'node:process';
import pg from 'pg';
import { DIALECTS, PG_URL } from '../src/storage/testing.ts';
import { backendsOf, cpuNsOf, cpuUsBetween } from './pg-backends.ts';
import { SPEC } from '../src/testing.ts';
import type { IngestJob } from '../src/storage/storage.ts';

const i = process.argv.indexOf('--reports');
const reports = i > 0 ? Number(process.argv[i + 1]) : 3000;
const o = process.argv.indexOf('--only');
const only = o > 0 ? process.argv[o + 1] : undefined;

// Counts the statements PostgreSQL receives while `counting` is set (the bench's own process only).
const statements = new Map<string, number>();
let counting = false;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if (counting) {
    const first = args[0] as string | { text?: string };
    const text = String(typeof first === 'string' ? first : first?.text).slice(0, 50);
    statements.set(text, (statements.get(text) ?? 0) + 1);
  }
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

for (const dialect of DIALECTS.filter((d) => only === undefined || d.name === only)) {
  const opened = await dialect.open();
  if (!opened) {
    console.log(`${dialect.name}: not reachable, left out`);
    continue;
  }
  try {
    const s = opened.storage;
    const tenant = await s.ensureTenant('default', new Date().toISOString());
    const agent = await s.createAgent({
      tenant_id: tenant.id,
      hostname: 'pve-node-01',
      cluster_name: null,
      cluster_fingerprint: null,
      agent_version: null,
      pve_version: null,
      created_at: new Date().toISOString(),
    });
    const jobs = (n: number): IngestJob[] =>
      Array.from({ length: n }, () => ({
        tenantId: agent.tenant_id,
        agentId: agent.id,
        tokenVersion: agent.token_version,
        kind: 'lxc' as const,
        payload: { ...SPEC.lxc },
        receivedAt: new Date().toISOString(),
      }));
    for (let k = 0; k < 300; k++) await s.ingest(jobs(5)); // warm-up: the guest exists, code is hot
    const backends = dialect.name === 'postgres' ? await backendsOf('self', PG_URL) : [];
    for (const size of [1, 5, 25, 1, 5, 25]) {
      const batches = Math.max(1, Math.round(reports / size));
      const cpu0 = process.cpuUsage();
      const pg0 = await cpuNsOf(backends);
      const t0 = performance.now();
      for (let k = 0; k < batches; k++) await s.ingest(jobs(size));
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - t0;
      const server = cpuUsBetween(pg0, await cpuNsOf(backends));
      const per = (us: number) => (us / batches).toFixed(0);
      console.log(
        `${dialect.name}, batches of ${size}: ${per(cpu.user + cpu.system)} µs CPU per batch (user ${per(cpu.user)}, system ${per(cpu.system)}), ` +
          `${((cpu.user + cpu.system) / (batches * size)).toFixed(0)} µs per report, wall ${per(wall * 1000)} µs per batch` +
          (backends.length > 0 ? `; PostgreSQL's processes ${per(server)} µs per batch` : ''),
      );
    }
    if (dialect.name === 'postgres') {
      counting = true;
      await s.ingest(jobs(5));
      counting = false;
      console.log(
        `postgres: one batch sends ${[...statements.values()].reduce((a, b) => a + b, 0)} statements:`,
      );
      for (const [text, n] of statements) console.log(`  ${n} × ${text}`);
    }
  } finally {
    await opened.cleanup();
  }
}
