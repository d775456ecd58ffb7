/**
 * Benchmark of one collection cycle per source on the simulator: one standalone node with 200
 * guests, pvesh given a start-up delay per call (PVESH_DELAY_MS, default 500 ms: FACTS.md puts a
 * real pvesh start at "hundreds of ms to seconds" — Perl plus the PVE API modules; the simulator's
 * own Node start comes on top). Sources: files, pvesh, api, and the naive spec-literal baseline
 * (one pvesh per read as upstream does, /cluster/status and /cluster/resources read twice).
 *
 * Each source runs in a fresh process (bench/one-cycle.ts bundled with esbuild like the shipped
 * agent) for `--cycles` cycles (default 2); the last (warm, as in the daemon) is reported, and the
 * peak RSS over all of them.
 *
 *   npm run build && node --import tsx packages/agent/bench/cycle.ts [--guests 200] [--delay 500]
 *     [--cycles 2] [--only files,pvesh,api,naive] [--node-args "--max-semi-space-size=1"]
 *     [--nodes 3 --node pve2] [--ceph HEALTH_OK]
 *
 * `--nodes N` (N > 1) lays out a cluster (HA configured, one resource) and measures `--node`
 * (default the first, the HA master); `--ceph STATUS` gives the cluster PVE-managed Ceph.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { createLayout, DEFAULT_TOKEN, scenarioFromFlags, startServers } from '@nanny/pve-sim';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const guests = arg('guests', 200);
const delay = arg('delay', 500);
const cycles = arg('cycles', 2);
const strArg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const modes = (strArg('only') ?? 'files,pvesh,api,naive').split(',');
const nodes = arg('nodes', 1);
const ceph = strArg('ceph') as 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR' | undefined;
/** extra node flags for the measured process, e.g. --node-args=--max-semi-space-size=1 */
const nodeArgs = (strArg('node-args') ?? '').split(' ').filter((a) => a !== '');

const dir = mkdtempSync(join(tmpdir(), 'agent-bench-'));
try {
  const sim = createLayout({
    out: join(dir, 'layout'),
    scenario: scenarioFromFlags({ nodes, standalone: nodes === 1, guests, seed: 42, clock: 'frozen' }),
  });
  const node = strArg('node') ?? sim.state().nodes[0]!.name;
  sim.apply({ type: 'pvesh-delay', ms: delay });
  if (ceph) sim.apply({ type: 'ceph-health', cluster: node, status: ceph });
  const bundle = join(dir, 'one-cycle.mjs');
  await build({
    entryPoints: [new URL('./one-cycle.ts', import.meta.url).pathname],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    logLevel: 'warning',
  });
  const servers = await startServers(sim, { nodes: [node] });
  const served = servers.list[0]!;
  const rows: string[] = [];
  try {
    for (const mode of modes) {
      // the api server runs in this process (so its work is not counted for the measured child):
      // the child must be awaited asynchronously or the server could not answer
      const r = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [
            bundle,
            mode,
            join(sim.root, node),
            node,
            served.url,
            `${DEFAULT_TOKEN.tokenId}=${DEFAULT_TOKEN.secret}`,
            served.fingerprint,
          ],
          { encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 64 << 20 },
          (err, stdout, stderr) =>
            err ? reject(new Error(`${mode}: ${err.message} ${stderr}`)) : resolve(stdout),
        );
      }).catch((e: Error) => JSON.stringify({ mode, error: e.message }));
      rows.push(r.trim());
      process.stderr.write(`${r.trim()}\n`);
    }
  } finally {
    await servers.close();
  }
  console.log(
    `\n| source | reports | wall (s) | spawns | pvesh calls | agent CPU (ms) | children CPU (ms) | peak RSS (MB) |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const line of rows) {
    const r = JSON.parse(line) as {
      mode: string;
      error?: string;
      maxRssMb: number;
      cycles: Array<{
        wallMs: number;
        cpuMs: number;
        childCpuMs: number;
        spawns: number;
        reports: number;
        calls: Record<string, number>;
      }>;
    };
    if (r.error) {
      console.log(`| ${r.mode} | error: ${r.error.slice(0, 80)} |`);
      continue;
    }
    const c = r.cycles[r.cycles.length - 1]!;
    const pvesh = Object.entries(c.calls).filter(([k]) => k.startsWith('pvesh'));
    const maxPerPath = Math.max(0, ...pvesh.map(([, v]) => v));
    const total = pvesh.reduce((a, [, v]) => a + v, 0);
    console.log(
      `| ${r.mode} | ${c.reports} | ${(c.wallMs / 1000).toFixed(1)} | ${c.spawns} | ${total}${total ? ` (max ${maxPerPath} per path)` : ''} | ${c.cpuMs} | ${c.childCpuMs} | ${r.maxRssMb} |`,
    );
  }
  console.log(
    `\n${nodes > 1 ? `node ${node} of ${nodes}, ` : ''}${ceph ? `Ceph ${ceph}, ` : ''}${guests} guests, pvesh start-up delay ${delay} ms, last of ${cycles} cycles of each fresh process (peak RSS over all of them); node ${process.version}${nodeArgs.length ? ` ${nodeArgs.join(' ')}` : ''}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
