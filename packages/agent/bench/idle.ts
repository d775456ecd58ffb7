/**
 * The idle daemon (issue 12 item 3, docs/performance.md "Idle daemon"): the agent bundled like the
 * shipped one and run as its own process (`nannyagent run`) against a simulated node (files source)
 * and a fake nannyapi, both on loopback, at the default intervals — cycle 300 s, watch 5 s,
 * heartbeat 60 s — for `--duration` seconds after its first cycle. Reports:
 *
 * - processes the daemon started, split into those inside a cycle and those between cycles (the
 *   daemon logs each spawn at debug level; a cycle's span is known from its "cycle done in N ms");
 * - CPU of the daemon (utime+stime of /proc/<pid>/stat, and of its children such as the pmxcfs
 *   reader), as % of one core, over the whole run and between cycles only: sampled every second,
 *   a second counts as "in a cycle" when a cycle ran in it or the cycle's reports were still being
 *   delivered (the fake API received one);
 * - RSS (VmRSS) sampled every second: start, max, end; of the daemon, and of the daemon with its
 *   children (the pmxcfs reader);
 * - the floor: a bare `node -e "setInterval(() => {}, <watch>)"`, measured the same way over the same
 *   window — what merely waking a Node.js process that often costs on this machine.
 *
 * The simulator's clock ticks (its /proc and .rrd move every second) in this process, so its cost is
 * not the agent's.
 *
 *   node --import tsx packages/agent/bench/idle.ts [--duration 600] [--guests 60] [--nodes 3]
 *     [--interval 300] [--watch 5] [--heartbeat 60] [--node /path/to/node] [--node-args "..."]
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { createLayout, scenarioFromFlags } from '@nanny/pve-sim';
import { main } from '../src/cli.ts';
import { startFakeApi } from '../src/testing/fake-api.ts';

const strArg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const numArg = (name: string, def: number): number => {
  const v = strArg(name);
  const n = v === undefined ? def : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${v}`);
  return n;
};
const duration = numArg('duration', 600);
if (duration > 24 * 3600) throw new Error('--duration: at most one day');
const guests = numArg('guests', 60);
const nodes = numArg('nodes', 3);
const interval = strArg('interval') ?? '300';
const watch = strArg('watch') ?? '5';
const heartbeat = strArg('heartbeat') ?? '60';
const nodeBin = strArg('node') ?? process.execPath;
const nodeArgs = (strArg('node-args') ?? '').split(' ').filter((a) => a !== '');

const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime+stime in clock ticks of a process, or 0 when it is gone */
function cpuTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15 of stat(5)
  } catch {
    return 0;
  }
}

/** children (any depth) of a process, read from /proc/<pid>/stat ppid fields */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'agent-idle-'));
const api = await startFakeApi();
let child: ReturnType<typeof spawn> | undefined;
let bare: ReturnType<typeof spawn> | undefined;
let stopTicker: (() => void) | undefined;
try {
  const sim = createLayout({
    out: join(dir, 'layout'),
    scenario: scenarioFromFlags({ nodes, guests, seed: 12, clock: 'live' }),
  });
  stopTicker = sim.startTicker(1000);
  const node = sim.state().nodes[0]!.name;
  const p = sim.paths(node);
  const env: Record<string, string> = {
    PATH: `${p.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    NANNYAGENT_CONFIG: '/dev/null',
    NANNYAGENT_PVE_ROOT: p.etcPve,
    NANNYAGENT_PROC_ROOT: p.proc,
    NANNYAGENT_HOSTS_FILE: p.hosts,
    NANNYAGENT_DPKG_STATUS: p.dpkgStatus,
    NANNYAGENT_TASKS_ROOT: p.tasks,
    NANNYAGENT_PVE_LIB_ROOT: p.pveLib,
    NANNYAGENT_STATE_DIR: join(dir, 'state'),
    NANNYAGENT_SOURCE: 'files',
    NANNYAGENT_LOG_LEVEL: 'debug',
    NANNYAPI_URL: api.url,
    PROXMOX_INTERVAL: interval,
    NANNYAGENT_WATCH_INTERVAL: watch,
    NANNYAGENT_HEARTBEAT_INTERVAL: heartbeat,
  };
  const reg = await main(['register', '--enroll-token', api.enrollToken], {
    stdout: () => undefined,
    stderr: (s) => process.stderr.write(s),
    env,
  });
  if (reg !== 0) throw new Error('registration failed');

  const bundle = join(dir, 'nannyagent.mjs');
  await build({
    entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __nannyCreateRequire } from 'node:module'; const require = __nannyCreateRequire(import.meta.url);",
    },
  });

  const spawns: number[] = [];
  const cycles: Array<{ start: number; end: number }> = [];
  child = spawn(nodeBin, [...nodeArgs, bundle, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid!;
  let buf = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    buf += s;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const now = Date.now();
      if (line.startsWith('[DEBUG] spawn: ')) spawns.push(now);
      const m = /^\[DEBUG\] cycle done in (\d+) ms/.exec(line);
      if (m) cycles.push({ start: now - Number(m[1]) - 50, end: now + 50 });
      if (/^\[(WARN|ERROR)\]/.test(line)) process.stderr.write(`agent: ${line}\n`);
    }
  });
  const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));

  const t0 = Date.now();
  while (cycles.length === 0) {
    if (Date.now() - t0 > 120_000) throw new Error('no first cycle within 120 s');
    await sleep(100);
  }
  await sleep(2000); // delivery of the first cycle
  const allCpu = () => cpuTicks(pid) + descendants(pid).reduce((a, c) => a + cpuTicks(c), 0);
  const ms = Math.max(1, Number(watch) * 1000 || 5000);
  bare = spawn(nodeBin, ['-e', `setInterval(() => {}, ${ms})`], { stdio: 'ignore' });
  await sleep(2000); // its start-up is not the floor
  const start = {
    at: Date.now(),
    own: cpuTicks(pid),
    all: allCpu(),
    spawns: spawns.length,
    bare: cpuTicks(bare.pid!),
  };
  const treeRss = () => rssMb(pid) + descendants(pid).reduce((a, c) => a + rssMb(c), 0);
  const rss: number[] = [rssMb(pid)];
  const rssTree: number[] = [treeRss()];
  const received0 = api.received.length;
  /** CPU ticks per 1 s sample, and whether a cycle or its delivery overlapped it */
  const samples: Array<{ from: number; to: number; own: number; all: number; delivering: boolean }> = [];
  const cycleReports = () => api.received.filter((r) => r.body.trigger === 'cycle').length;
  let last = { at: start.at, own: start.own, all: start.all, delivered: cycleReports() };
  process.stderr.write(
    `idle: measuring pid ${pid} for ${duration} s (cycle ${interval} s, watch ${watch} s, heartbeat ${heartbeat} s, ${guests} guests on ${nodes} nodes)\n`,
  );
  while (Date.now() - start.at < duration * 1000) {
    await sleep(Math.min(1000, start.at + duration * 1000 - Date.now()));
    const now = { at: Date.now(), own: cpuTicks(pid), all: allCpu(), delivered: cycleReports() };
    samples.push({
      from: last.at,
      to: now.at,
      own: now.own - last.own,
      all: now.all - last.all,
      delivering: now.delivered !== last.delivered,
    });
    last = now;
    rss.push(rssMb(pid));
    rssTree.push(treeRss());
  }
  const end = { at: Date.now(), own: cpuTicks(pid), all: allCpu(), bare: cpuTicks(bare.pid!) };
  bare.kill('SIGKILL');
  const wall = (end.at - start.at) / 1000;
  const inCycle = (t: number) => cycles.some((c) => t >= c.start && t <= c.end);
  const measured = spawns.slice(start.spawns).filter((t) => t <= end.at);
  const between = measured.filter((t) => !inCycle(t));
  const quiet = samples.filter(
    (s) => !s.delivering && !cycles.some((c) => c.end >= s.from && c.start <= s.to),
  );
  if (process.argv.includes('--trace'))
    process.stderr.write(
      `ticks per second: ${samples.map((s) => `${s.own}${s.delivering ? 'd' : ''}`).join(' ')}\n`,
    );
  const quietTicks = quiet.reduce((a, s) => a + s.own, 0);
  const quietTicksAll = quiet.reduce((a, s) => a + s.all, 0);
  const quietWall = quiet.reduce((a, s) => a + (s.to - s.from), 0) / 1000;
  const pct = (ticks: number, seconds: number) =>
    seconds > 0 ? ((ticks / TICK / seconds) * 100).toFixed(3) : '-';
  const byTrigger: Record<string, number> = {};
  for (const r of api.received.slice(received0)) {
    const k = `${String(r.body.trigger)}/${r.kind}`;
    byTrigger[k] = (byTrigger[k] ?? 0) + 1;
  }
  const result = {
    node: `${nodeBin === process.execPath ? process.version : nodeBin}${nodeArgs.length ? ` ${nodeArgs.join(' ')}` : ''}`,
    duration_s: Number(wall.toFixed(1)),
    cycles_in_window: cycles.filter((c) => c.end >= start.at && c.start <= end.at).length,
    spawns_total: measured.length,
    spawns_between_cycles: between.length,
    cpu_pct_one_core: pct(end.own - start.own, wall),
    cpu_pct_with_children: pct(end.all - start.all, wall),
    cpu_pct_between_cycles: pct(quietTicks, quietWall),
    cpu_pct_between_cycles_with_children: pct(quietTicksAll, quietWall),
    seconds_between_cycles: Math.round(quietWall),
    cpu_pct_bare_node_floor: pct(end.bare - start.bare, wall),
    rss_mb: { start: rss[0]!.toFixed(1), max: Math.max(...rss).toFixed(1), end: rss.at(-1)!.toFixed(1) },
    // the daemon and its children (the pmxcfs reader): what the service's cgroup holds in processes
    rss_with_children_mb: {
      start: rssTree[0]!.toFixed(1),
      max: Math.max(...rssTree).toFixed(1),
      end: rssTree.at(-1)!.toFixed(1),
    },
    reports_by_trigger: byTrigger,
  };
  console.log(JSON.stringify(result, null, 2));
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout')]);
  if (code === 'timeout') child.kill('SIGKILL');
} finally {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (bare && bare.exitCode === null) bare.kill('SIGKILL');
  stopTicker?.();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
}
