/**
 * Fleet benchmark (not a test): a simulated fleet reporting at the agent's default intervals against
 * real `nannyapi serve` processes (the built bundle), for a fixed time. Every agent is registered
 * (real tokens); every report is built by the proxmox package's payload builders from a pve-sim
 * state (real bodies) and sent over HTTP by this one load process. Per agent, like the daemon:
 * every `--cycle` s its cluster report, node report and one report per guest on the node, one after
 * the other; every `--heartbeat` s between cycles a heartbeat node report; `--changes` watch
 * (membership change) cluster reports per minute across the fleet. Agents start spread over one
 * cycle.
 *
 * Measures: sustained reports/s, latency p50/p99 (per minute and overall), answers other than 200,
 * the servers' CPU (% of one core, utime+stime from /proc) and RSS, and database growth during the
 * steady state (after the first full cycle created every row).
 *
 *   npm run build && node --import tsx packages/api/bench/fleet.ts [--nodes 1000] [--guests 50000]
 *     [--duration 600] [--db sqlite|postgres] [--replicas 1] [--cycle 300] [--heartbeat 60]
 *     [--changes 6] [--cluster-size 20] [--speedup 1]   (--speedup k: k× as many reports per second)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  buildClusterPayload,
  buildLxcPayload,
  buildNodePayload,
  buildQemuPayload,
  type ClusterResource,
  type ClusterStatusEntry,
  type NodeStatus,
} from '@nanny/proxmox';
import { apiGet, buildState, type Scenario, type SimState } from '@nanny/pve-sim';
import { createKyselyStorage } from '../src/storage/kysely-storage.ts';
import { TOKEN_PREFIX, hashToken, newToken } from '../src/auth/tokens.ts';

const argv = process.argv;
const num = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i > 0 ? Number(argv[i + 1]) : def;
};
const text = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i > 0 ? (argv[i + 1] ?? def) : def;
};
const NODES = num('nodes', 1000);
const GUESTS = num('guests', 50_000);
const DURATION = num('duration', 600);
const DB = text('db', 'sqlite');
const REPLICAS = num('replicas', 1);
const SPEEDUP = num('speedup', 1);
const CYCLE = num('cycle', 300) / SPEEDUP;
const HEARTBEAT = num('heartbeat', 60) / SPEEDUP;
const CHANGES = num('changes', 6) * SPEEDUP;
const CLUSTER_SIZE = num('cluster-size', 20);
const PG_URL = text('pg', 'postgres://postgres@127.0.0.1:5432/test');
const BUNDLE = new URL('../dist/nannyapi.mjs', import.meta.url).pathname;
const load = () => loadavg()[0]!.toFixed(1);

// ------------------------------------------------------------------ servers
interface Server {
  proc: ChildProcess;
  url: string;
  cpu: number[];
  rss: number[];
  first?: { cpuTicks: number; at: number };
  last?: { cpuTicks: number; at: number };
}
/** mean CPU over the run, % of one core (ticks are 1/100 s) */
const meanCpu = (s: Server) =>
  s.first && s.last && s.last.at > s.first.at
    ? (s.last.cpuTicks - s.first.cpuTicks) / ((s.last.at - s.first.at) / 1000)
    : 0;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BUNDLE, 'serve'], {
    env: { ...process.env, ...env, NANNYAPI_PORT: String(port), NANNYAPI_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (proc.exitCode !== null) throw new Error(`nannyapi serve exited with ${proc.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { proc, url, cpu: [], rss: [] };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('nannyapi serve did not become ready');
}

async function procStat(pid: number): Promise<{ cpuTicks: number; rss: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  // fields 14 and 15 of stat (utime, stime) are 12 and 13 after the ") " split
  return {
    cpuTicks: Number(stat[11]) + Number(stat[12]),
    rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024,
  };
}

/**
 * CPU ticks of every PostgreSQL server process now (pid → ticks). A delta between two of these
 * counts the backends that lived through both; on a machine shared with other PostgreSQL users
 * their work is counted too.
 */
async function postgresTicks(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    if (!stat.includes('(postgres)')) continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(d), Number(f[11]) + Number(f[12]));
  }
  return out;
}
const ticksSince = (from: Map<number, number>, to: Map<number, number>) =>
  [...to].reduce((n, [pid, t]) => n + t - (from.get(pid) ?? 0), 0);

// ------------------------------------------------------------------ the fleet's reports
const fingerprint = (name: string) =>
  createHash('sha256')
    .update(name)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');

interface Agent {
  node: string;
  cluster: string;
  token: string;
  server: number;
  guests: Report[];
}

function fleetState(): SimState {
  const clusters = Math.ceil(NODES / CLUSTER_SIZE);
  const scenario: Scenario = {
    seed: 14,
    clock: { mode: 'live' },
    clusters: Array.from({ length: clusters }, (_, i) => {
      const nodes = Math.min(CLUSTER_SIZE, NODES - i * CLUSTER_SIZE);
      return {
        name: `fleet-${String(i).padStart(3, '0')}`,
        nodes: Array.from({ length: nodes }, (_, k) => ({ name: `c${i}-pve${k + 1}` })),
        guests: Math.round((GUESTS * nodes) / NODES),
        firstVmid: 100,
      };
    }),
  };
  return buildState(scenario, Date.now());
}

const COLLECTED = '@@collected_at@@';

/**
 * Every guest report of one agent's cycle, built once at start by the payload builders from the
 * simulated cluster's /cluster/resources and each guest's config; each send stamps `collected_at`.
 * (Building 50,000 reports in the load process at send time would block its event loop and show
 * as server latency.)
 */
function guestBodies(state: SimState, nodeName: string, resources: ClusterResource[]): Report[] {
  const configs = new Map(state.guests.filter((g) => g.node === nodeName).map((g) => [g.vmid, g.config]));
  const meta = { collectedAt: COLLECTED, agentVersion: 'fleet-bench', trigger: 'cycle' as const };
  const out: Report[] = [];
  for (const res of resources) {
    const config = configs.get(Number(res.vmid));
    if (res.node !== nodeName || !config) continue;
    const m = { ...meta, ...clusterMeta(nodeName) };
    const built = res.type === 'lxc' ? buildLxcPayload(res, config, m) : buildQemuPayload(res, config, m);
    out.push({ path: `/api/proxmox/${res.type}`, body: JSON.stringify(built.data) });
  }
  return out;
}

interface Report {
  path: string;
  body: string;
}

const clusterNames = new Map<string, string>();
function clusterMeta(nodeName: string) {
  const name = clusterNames.get(nodeName)!;
  return { clusterFingerprint: fingerprint(name), clusterName: name };
}

/** the cluster and node reports, built at send time from the simulator (their figures move) */
function liveReports(state: SimState, a: Agent, kind: 'cycle' | 'heartbeat' | 'change'): Report[] {
  const now = Math.floor(Date.now() / 1000);
  const get = <T>(path: string) => {
    const r = apiGet(state, a.node, path, {}, now);
    if (r.ok !== true) throw new Error(`sim ${path}: ${JSON.stringify(r)}`);
    return r.data as T;
  };
  const meta = {
    collectedAt: new Date().toISOString(),
    agentVersion: 'fleet-bench',
    ...clusterMeta(a.node),
    trigger: kind,
  };
  const status = get<ClusterStatusEntry[]>('/cluster/status');
  const out: Report[] = [];
  if (kind !== 'heartbeat') {
    const c = buildClusterPayload(status, { ...meta, reportingNode: a.node });
    if (c) out.push({ path: '/api/proxmox/cluster', body: JSON.stringify(c.data) });
  }
  if (kind !== 'change')
    out.push({
      path: '/api/proxmox/node',
      body: JSON.stringify(
        buildNodePayload(
          {
            nodeName: a.node,
            clusterStatus: status,
            nodeStatus: get<NodeStatus>(`/nodes/${a.node}/status`),
            intervalSeconds: CYCLE * SPEEDUP,
          },
          meta,
        ).data,
      ),
    });
  return out;
}

// ------------------------------------------------------------------ load
// Idle sockets are dropped after 4 s, before the server's keep-alive timeout (5 s) closes them
// under a request in flight.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
let errorsShown = 0;

function post(url: string, path: string, token: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      `${url}${path}`,
      {
        method: 'POST',
        agent: httpAgent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (errorsShown++ < 5) console.log(`request error: ${e.code ?? e.message}`);
      resolve(0);
    });
    req.end(body);
  });
}

interface Window {
  sent: number;
  ok: number;
  failed: number;
  latencies: number[];
}
const newWindow = (): Window => ({ sent: 0, ok: 0, failed: 0, latencies: [] });
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function dbBytes(dataDir: string, schema: string): Promise<number> {
  if (DB === 'postgres') {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const r = await c.query<{ b: string }>(
        `select coalesce(sum(pg_total_relation_size(c.oid)), 0) as b from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r', 'm')`,
        [schema],
      );
      return Number(r.rows[0]?.b ?? 0);
    } finally {
      await c.end();
    }
  }
  // pages in use as a reader sees them (the WAL included, free pages not): the file sizes would
  // show the WAL's high-water mark instead
  const db = new Database(join(dataDir, 'nannyapi.db'), { readonly: true });
  try {
    const n = (q: string) => Number(Object.values(db.prepare(q).get() as object)[0]);
    return (n('pragma page_count') - n('pragma freelist_count')) * n('pragma page_size');
  } finally {
    db.close();
  }
}

async function main() {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run node scripts/build.mjs first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'nannyapi-fleet-'));
  const schema = `bench_fleet_${process.pid}`;
  const servers: Server[] = [];
  const MiB = 1048576;
  try {
    console.log(
      `fleet benchmark: ${NODES} nodes, ${GUESTS} guests, ${REPLICAS} server(s) on ${DB}, cycle ${CYCLE} s, heartbeat ${HEARTBEAT} s, ${CHANGES} watch reports/min, ${DURATION} s; node ${process.version}, ${cpus().length} CPUs, load average ${load()}`,
    );
    // The database, its tenant and one enrollment token for the whole fleet, before any server
    // starts (so the replicas do not race to migrate).
    const dbEnv: Record<string, string> =
      DB === 'postgres'
        ? { NANNYAPI_DATABASE_URL: PG_URL, NANNYAPI_PG_SCHEMA: schema }
        : { NANNYAPI_DATA_DIR: dataDir };
    const storage = await createKyselyStorage(
      DB === 'postgres'
        ? { databaseUrl: PG_URL, pgSchema: schema }
        : { sqliteFile: join(dataDir, 'nannyapi.db') },
    );
    const tenant = await storage.ensureTenant('default', new Date().toISOString());
    const enroll = newToken(TOKEN_PREFIX.enrollment);
    await storage.createEnrollmentToken(
      {
        tenant_id: tenant.id,
        max_uses: NODES,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        created_at: new Date().toISOString(),
      },
      hashToken(enroll),
    );
    await storage.close();
    const env = {
      ...dbEnv,
      NANNYAPI_DATA_DIR: dataDir,
      NANNYAPI_LOG_LEVEL: 'warn',
      // every simulated agent comes from 127.0.0.1: the per-address limit would throttle the fleet
      NANNYAPI_RATE_LIMIT_IP: '0',
      NANNYAPI_MAX_CONNECTIONS_PER_ADDRESS: '0',
      // a run longer than the default access token lifetime must not need refreshes
      NANNYAPI_ACCESS_TOKEN_TTL: String(Math.max(3600, DURATION * 2)),
    };
    for (let i = 0; i < REPLICAS; i++) servers.push(await startServer(env));
    console.log(`servers ready: ${servers.map((s) => s.url).join(', ')}`);

    const state = fleetState();
    const agents: Agent[] = [];
    const nodeCluster = new Map(state.clusters.map((c) => [c.id, c.name ?? c.id]));
    for (const n of state.nodes) clusterNames.set(n.name, nodeCluster.get(n.clusterId)!);
    const t0 = Date.now();
    const queue = [...state.nodes];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let n = queue.shift(); n; n = queue.shift()) {
          const server = agents.length % REPLICAS;
          const cluster = nodeCluster.get(n.clusterId)!;
          const r = await fetch(`${servers[server]!.url}/api/agent/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              enrollment_token: enroll,
              hostname: n.name,
              cluster_name: cluster,
              cluster_fingerprint: fingerprint(cluster),
            }),
          });
          if (!r.ok) throw new Error(`register ${n.name}: ${r.status} ${await r.text()}`);
          const j = (await r.json()) as { access_token: string };
          agents.push({ node: n.name, cluster, token: j.access_token, server, guests: [] });
        }
      }),
    );
    console.log(`${agents.length} agents registered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const resources = new Map<string, ClusterResource[]>();
    for (const a of agents) {
      let res = resources.get(a.cluster);
      if (!res) {
        const r = apiGet(state, a.node, '/cluster/resources', { type: 'vm' }, Math.floor(Date.now() / 1000));
        if (r.ok !== true) throw new Error('sim /cluster/resources failed');
        res = r.data as ClusterResource[];
        resources.set(a.cluster, res);
      }
      a.guests = guestBodies(state, a.node, res);
    }
    console.log(`${agents.reduce((n, a) => n + a.guests.length, 0)} guest reports built`);

    // The schedule: agent i starts its first cycle at i/N of a cycle, heartbeats in between.
    const start = Date.now();
    const end = start + DURATION * 1000;
    const windows: Window[] = [];
    const all = newWindow();
    const win = () => {
      const i = Math.floor((Date.now() - start) / 60_000);
      while (windows.length <= i) windows.push(newWindow());
      return windows[i]!;
    };
    const send = async (a: Agent, path: string, body: string) => {
      const w = win();
      w.sent++;
      all.sent++;
      const t = performance.now();
      const status = await post(servers[a.server]!.url, path, a.token, body);
      const ms = performance.now() - t;
      w.latencies.push(ms);
      all.latencies.push(ms);
      if (status === 200) {
        w.ok++;
        all.ok++;
      } else {
        w.failed++;
        all.failed++;
        if (all.failed <= 5) console.log(`answer ${status} to ${path} of ${a.node}`);
      }
    };
    const runAgent = async (a: Agent, i: number) => {
      const phase = (i / agents.length) * CYCLE * 1000;
      let nextCycle = start + phase;
      let nextBeat = nextCycle + HEARTBEAT * 1000;
      while (true) {
        const at = Math.min(nextCycle, nextBeat);
        if (at >= end) return;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        if (at === nextCycle) {
          // the agent's order: cluster, node, then its guests, one after the other
          // (a cycle still under way at the end stops there: the run's length is the window)
          for (const r of liveReports(state, a, 'cycle')) await send(a, r.path, r.body);
          for (const r of a.guests) {
            if (Date.now() >= end) return;
            await send(a, r.path, r.body.replace(COLLECTED, new Date().toISOString()));
          }
          if (nextCycle === start + phase && ++firstCyclesDone === agents.length)
            void dbBytes(dataDir, schema).then((bytes) => (steadyBytes = { at: Date.now(), bytes }));
          nextCycle += CYCLE * 1000;
          nextBeat = Math.max(nextBeat, Date.now() + HEARTBEAT * 1000);
        } else {
          if (nextCycle - at >= HEARTBEAT * 500)
            for (const r of liveReports(state, a, 'heartbeat')) await send(a, r.path, r.body);
          nextBeat += HEARTBEAT * 1000;
        }
      }
    };
    const changes = (async () => {
      if (CHANGES <= 0) return;
      for (let k = 0; Date.now() < end; k++) {
        await new Promise((r) => setTimeout(r, 60_000 / CHANGES));
        if (Date.now() >= end) return;
        const a = agents[(k * 7919) % agents.length]!;
        for (const r of liveReports(state, a, 'change')) await send(a, r.path, r.body);
      }
    })();
    // samples: server CPU and RSS every 5 s; the database size once every agent finished its first
    // cycle (every row exists: what grows after is history)
    let steadyBytes: { at: number; bytes: number } | undefined;
    let firstCyclesDone = 0;
    const prev = new Map<number, { cpuTicks: number; at: number }>();
    // one sample at a time: under heavy load a slow one must not interleave with the next and
    // pair its ticks with another's clock (that showed 2,571 % once)
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      void (async () => {
        for (const s of servers) {
          const pid = s.proc.pid!;
          const st = await procStat(pid).catch(() => undefined);
          if (!st) continue;
          const p = prev.get(pid);
          const now = Date.now();
          if (p) s.cpu.push((100 * (st.cpuTicks - p.cpuTicks)) / 100 / ((now - p.at) / 1000));
          prev.set(pid, { cpuTicks: st.cpuTicks, at: now });
          s.rss.push(st.rss);
          s.first ??= { cpuTicks: st.cpuTicks, at: now };
          s.last = { cpuTicks: st.cpuTicks, at: now };
        }
      })().finally(() => (sampling = false));
    }, 5000);
    const progress = setInterval(() => {
      // the minute that just ended
      const i = Math.floor((Date.now() - start) / 60_000) - 1;
      const w = windows[i];
      if (w)
        console.log(
          `  minute ${i + 1}: ${(w.ok / 60).toFixed(1)} reports/s, p99 ${pct(w.latencies, 99).toFixed(0)} ms, failed ${w.failed}, load ${load()}`,
        );
    }, 60_000);
    const pgAtStart = DB === 'postgres' ? await postgresTicks() : undefined;
    const pgStartedAt = Date.now();
    await Promise.all([...agents.map(runAgent), changes]);
    const pgTicks = pgAtStart ? ticksSince(pgAtStart, await postgresTicks()) : 0;
    const pgSecs = (Date.now() - pgStartedAt) / 1000;
    clearInterval(sampler);
    clearInterval(progress);
    const endBytes = { at: Date.now(), bytes: await dbBytes(dataDir, schema) };
    const secs = (Date.now() - start) / 1000;

    console.log('\n| minute | reports/s | p50 | p99 | failed | ');
    console.log('|---|---|---|---|---|');
    windows.forEach((w, i) =>
      console.log(
        `| ${i + 1} | ${(w.ok / Math.min(60, secs - 60 * i)).toFixed(1)} | ${pct(w.latencies, 50).toFixed(1)} ms | ${pct(w.latencies, 99).toFixed(1)} ms | ${w.failed} |`,
      ),
    );
    console.log(
      `\noverall: ${all.ok} reports stored in ${secs.toFixed(0)} s = ${(all.ok / secs).toFixed(1)} reports/s; p50 ${pct(all.latencies, 50).toFixed(1)} ms, p99 ${pct(all.latencies, 99).toFixed(1)} ms, max ${pct(all.latencies, 100).toFixed(0)} ms; answers other than 200: ${all.failed}`,
    );
    servers.forEach((s, i) => {
      const avg = meanCpu(s);
      console.log(
        `server ${i + 1}: CPU mean ${avg.toFixed(1)} % of one core, max 5-s ${Math.max(0, ...s.cpu).toFixed(0)} %; RSS max ${(Math.max(0, ...s.rss) / MiB).toFixed(0)} MiB, end ${((s.rss[s.rss.length - 1] ?? 0) / MiB).toFixed(0)} MiB`,
      );
    });
    const cpuSecs = servers.reduce(
      (n, s) => n + (s.first && s.last ? (s.last.cpuTicks - s.first.cpuTicks) / 100 : 0),
      0,
    );
    console.log(
      `servers' CPU per stored report: ${((1000 * cpuSecs) / Math.max(1, all.ok)).toFixed(2)} ms (all servers together)`,
    );
    if (pgAtStart)
      console.log(
        `PostgreSQL's processes: CPU mean ${(pgTicks / pgSecs).toFixed(1)} % of one core, ${((10 * pgTicks) / Math.max(1, all.ok)).toFixed(2)} ms per stored report (every postgres process on the machine; backends that ended during the run not counted)`,
      );
    if (steadyBytes) {
      const perHour = ((endBytes.bytes - steadyBytes.bytes) / ((endBytes.at - steadyBytes.at) / 1000)) * 3600;
      console.log(
        `database (${DB}): ${(steadyBytes.bytes / MiB).toFixed(1)} MiB when every agent had finished its first cycle, ${(endBytes.bytes / MiB).toFixed(1)} MiB at the end; steady growth ${(perHour / MiB).toFixed(1)} MiB/hour (${((perHour * 24) / MiB).toFixed(0)} MiB/day before retention)`,
      );
    } else
      console.log(
        `database (${DB}): ${(endBytes.bytes / MiB).toFixed(1)} MiB at the end (not every agent finished its first cycle)`,
      );
    const self = process.cpuUsage();
    console.log(
      `load process (this one): CPU ${((self.user + self.system) / 1e4 / secs).toFixed(1)} % of one core; load average at the end: ${load()}`,
    );
  } finally {
    for (const s of servers) if (s.proc.exitCode === null) s.proc.kill('SIGTERM');
    httpAgent.destroy();
    if (argv.includes('--keep')) console.log(`data kept in ${dataDir} (PostgreSQL schema ${schema})`);
    else rmSync(dataDir, { recursive: true, force: true });
    if (DB === 'postgres' && !argv.includes('--keep')) {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
    }
  }
}

await main();
