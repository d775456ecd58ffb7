/**
 * The PostgreSQL server processes serving one process's connections, and their CPU (benchmarks
 * only). The sum over every postgres process of the machine counts other users' queries too; this
 * counts only the backends of the process measured: its sockets to the server's port (by inode, from
 * /proc/PID/fd) have local ports that pg_stat_activity shows as `client_port`.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import pg from 'pg';

export async function backendsOf(pid: number | 'self', pgUrl: string): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m?.[1]) inodes.add(m[1]);
  }
  const server = `:${Number(new URL(pgUrl).port || 5432)
    .toString(16)
    .toUpperCase()
    .padStart(4, '0')}`;
  const ports: number[] = [];
  for (const line of (await readFile(`/proc/${pid}/net/tcp`, 'utf8')).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[2]?.endsWith(server) && f[9] && inodes.has(f[9])) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
  }
  const c = new pg.Client({ connectionString: pgUrl });
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

/** nanoseconds each process ran on a CPU so far (/proc/PID/schedstat; an ended one is left out) */
export async function cpuNsOf(pids: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/schedstat`, 'utf8').catch(() => undefined);
    if (stat !== undefined) out.set(pid, Number(stat.split(' ')[0]));
  }
  return out;
}

/** the CPU the processes spent between two readings, in µs (one that started meanwhile: all of it) */
export function cpuUsBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  let ns = 0;
  for (const [pid, v] of after) ns += v - (before.get(pid) ?? 0);
  return ns / 1000;
}
