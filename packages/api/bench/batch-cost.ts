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
import { readFile, readdir, readlink } from 'node:fs/promises';
import process from 'node:process';
import pg from 'pg';
import { DIALECTS, PG_URL } from '../src/storage/testing.ts';
import { SPEC } from '../src/testing.ts';
import type { IngestJob } from '../src/storage/storage.ts';

const i = process.argv.indexOf('--reports');
const reports = i > 0 ? Number(process.argv[i + 1]) : 3000;
const o = process.argv.indexOf('--only');
const only = o > 0 ? process.argv[o + 1] : undefined;

/**
 * The PostgreSQL server processes serving this process: our sockets to the server's port (by inode,
 * from /proc/self/fd) have local ports that pg_stat_activity shows as `client_port`.
 */
async function ownBackends(): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m?.[1]) inodes.add(m[1]);
  }
  const server = `:${Number(new URL(PG_URL).port || 5432)
    .toString(16)
    .toUpperCase()
    .padStart(4, '0')}`;
  const ports: number[] = [];
  for (const line of (await readFile('/proc/self/net/tcp', 'utf8')).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[2]?.endsWith(server) && f[9] && inodes.has(f[9])) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
  }
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>(
      'select pid from pg_stat_activity where client_port = any($1::int[])',
      [ports],
    );
    return rows.map((r) => r.pid);
  } finally {
    await c.end();
  }
}

/** nanoseconds the processes ran on a CPU so far (a process that ended counts 0) */
async function cpuNs(pids: readonly number[]): Promise<number> {
  let ns = 0;
  for (const pid of pids)
    ns += Number((await readFile(`/proc/${pid}/schedstat`, 'utf8').catch(() => '0')).split(' ')[0]);
  return ns;
}

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
    const backends = dialect.name === 'postgres' ? await ownBackends() : [];
    for (const size of [1, 5, 25, 1, 5, 25]) {
      const batches = Math.max(1, Math.round(reports / size));
      const cpu0 = process.cpuUsage();
      const pg0 = await cpuNs(backends);
      const t0 = performance.now();
      for (let k = 0; k < batches; k++) await s.ingest(jobs(size));
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - t0;
      const server = (await cpuNs(backends)) - pg0;
      const per = (us: number) => (us / batches).toFixed(0);
      console.log(
        `${dialect.name}, batches of ${size}: ${per(cpu.user + cpu.system)} µs CPU per batch (user ${per(cpu.user)}, system ${per(cpu.system)}), ` +
          `${((cpu.user + cpu.system) / (batches * size)).toFixed(0)} µs per report, wall ${per(wall * 1000)} µs per batch` +
          (backends.length > 0 ? `; PostgreSQL's processes ${per(server / 1000)} µs per batch` : ''),
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
