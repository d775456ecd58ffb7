/**
 * Bench child: runs collection cycles of one source (or the naive baseline) and prints one JSON line
 * with spawns, CPU (own and children's) and peak RSS. bench/cycle.ts bundles this file with esbuild
 * (like the shipped agent) and runs it in a fresh process per source, so RSS figures are honest.
 *
 * argv: <source|naive> <layout node dir> <node> <apiUrl> <apiToken> <apiFingerprint> [cycles]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSource } from '../src/agent.ts';
import { createCollector } from '../src/collect.ts';
import { loadConfig, type SourceName } from '../src/config.ts';
import { runCommand } from '../src/host.ts';
import { httpRequest } from '../src/http.ts';
import { createLogger } from '../src/log.ts';
import { readCpuTimes } from '../src/sources/local.ts';

const [mode, nodeDir, node, apiUrl, apiToken, apiFp, cyclesArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  ...string[],
];
const TICKS = 100; // USER_HZ on Linux x86-64

/** CPU of waited-for children (cutime + cstime of /proc/self/stat), ms. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime/cstime are fields 16/17
  return ((Number(fields[13]) + Number(fields[14])) / TICKS) * 1000;
}

const env: Record<string, string> = {
  PATH: `${join(nodeDir, 'bin')}:${process.env.PATH ?? ''}`,
  NANNYAGENT_CONFIG: '/dev/null',
  NANNYAGENT_PVE_ROOT: join(nodeDir, 'etc-pve'),
  NANNYAGENT_PROC_ROOT: join(nodeDir, 'proc'),
  NANNYAGENT_DPKG_STATUS: join(nodeDir, 'var-lib-dpkg-status'),
  NANNYAGENT_TASKS_ROOT: join(nodeDir, 'var-log-pve-tasks'),
  NANNYAGENT_PVE_LIB_ROOT: join(nodeDir, 'var-lib-pve-manager'),
  NANNYAGENT_STATE_DIR: '/tmp/nannyagent-bench-state',
  NANNYAGENT_COMMAND_TIMEOUT: '60',
  NANNYAGENT_LOG_LEVEL: 'error',
  NANNYAGENT_NODE: node,
};
if (mode === 'api') {
  Object.assign(env, {
    NANNYAGENT_PVE_API_URL: apiUrl!,
    NANNYAGENT_PVE_API_TOKEN: apiToken!,
    NANNYAGENT_PVE_API_FINGERPRINT: apiFp!,
  });
}
if (mode !== 'naive') env.NANNYAGENT_SOURCE = mode as SourceName;

let spawns = 0;
const calls: Record<string, number> = {};
const onSpawn = (cmd: string, args: readonly string[]): void => {
  spawns++;
  const key = cmd === 'pvesh' ? `pvesh ${args[1]}` : cmd;
  calls[key] = (calls[key] ?? 0) + 1;
};

/** The spec taken literally, as upstream does it: one pvesh per read, shared paths read twice. */
async function naiveCycle(): Promise<number> {
  const run = async (cmd: string, args: string[]): Promise<unknown> => {
    const r = await runCommand(cmd, args, { timeoutMs: 60_000, env, onSpawn });
    return cmd === 'pvesh' ? JSON.parse(r.stdout) : r.stdout;
  };
  const pvesh = (path: string) => run('pvesh', ['get', path, '--output-format', 'json']);
  await run('pveversion', ['--verbose']); // IsProxmoxInstalled
  await run('pvecm', ['status']); // IsPartOfCluster
  await pvesh('/cluster/status'); // node info
  await pvesh(`/nodes/${node}/status`);
  await pvesh('/cluster/status'); // cluster info, read again
  let n = 0;
  for (const type of ['lxc', 'qemu']) {
    const res = (await pvesh('/cluster/resources')) as Array<{ type: string; node: string; vmid: number }>; // read once per type
    for (const g of res.filter((r) => r.type === type && r.node === node)) {
      await pvesh(`/nodes/${node}/${type}/${g.vmid}/config`);
      n++;
    }
  }
  return n + 1;
}

const config = loadConfig({ env });
const log = createLogger('error', (s) => process.stderr.write(s));
const collector =
  mode === 'naive'
    ? undefined
    : createCollector({
        source: createSource(config, log, httpRequest, { onSpawn }, env),
        log,
        agentVersion: 'bench',
        intervalSeconds: 300,
        nodeName: node,
        readCpuTimes: () => readCpuTimes(config.procRoot),
        hostname: () => node,
        emit: () => undefined,
      });

const cycles: Array<{
  wallMs: number;
  cpuMs: number;
  childCpuMs: number;
  spawns: number;
  reports: number;
  calls: Record<string, number>;
}> = [];
for (let i = 0; i < Number(cyclesArg ?? 2); i++) {
  spawns = 0;
  for (const k of Object.keys(calls)) delete calls[k];
  const cpu0 = process.cpuUsage();
  const child0 = childrenCpuMs();
  const t0 = performance.now();
  const reports = collector ? (await collector.runCycle()).reports : await naiveCycle();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  cycles.push({
    wallMs: Math.round(wallMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    childCpuMs: Math.round(childrenCpuMs() - child0),
    spawns,
    reports,
    calls: { ...calls },
  });
}
process.stdout.write(
  JSON.stringify({ mode, cycles, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n',
);
