/**
 * What a local source reads from /proc (NANNYAGENT_PROC_ROOT). /proc is not FUSE: reading it through
 * Node's fs is safe, unlike /etc/pve.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ipFromHostsFile,
  parseCpuinfo,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  nodeNetCounters,
  parseProcStat,
  parseProcVersion,
  parseUptime,
  type CpuTimes,
  type ProcSnapshot,
} from '@nanny/proxmox';

async function tryRead(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export async function readCpuTimes(procRoot: string): Promise<CpuTimes | undefined> {
  const text = await tryRead(join(procRoot, 'stat'));
  return text === undefined ? undefined : parseProcStat(text).data?.cpu;
}

/** /proc files → the parts of a ProcSnapshot (without rootfs, pveversion and cpu). */
export async function readProcSnapshot(procRoot: string, warnings: string[]): Promise<ProcSnapshot> {
  const [meminfo, loadavg, uptime, cpuinfo, version] = await Promise.all(
    ['meminfo', 'loadavg', 'uptime', 'cpuinfo', 'version'].map((f) => tryRead(join(procRoot, f))),
  );
  const snap: ProcSnapshot = {};
  const take = <T>(r: { data: T | undefined; warnings: string[] } | undefined): T | undefined => {
    if (!r) return undefined;
    warnings.push(...r.warnings);
    return r.data;
  };
  const m = take(meminfo === undefined ? undefined : parseMeminfo(meminfo));
  if (m) snap.meminfo = m;
  const l = take(loadavg === undefined ? undefined : parseLoadavg(loadavg));
  if (l) snap.loadavg = l;
  const u = take(uptime === undefined ? undefined : parseUptime(uptime));
  if (u) snap.uptimeSeconds = u.uptimeSeconds;
  const c = take(cpuinfo === undefined ? undefined : parseCpuinfo(cpuinfo));
  if (c) snap.cpuinfo = c;
  const v = take(version === undefined ? undefined : parseProcVersion(version));
  if (v) snap.kernel = v;
  return snap;
}

/**
 * The node's network bytes in and out since boot from /proc/net/dev (nodeNetCounters picks the
 * interfaces). Synchronous for the reason createLightProcReader gives: heartbeats read it every minute.
 */
export function readNetCounters(
  procRoot: string,
  warnings: string[],
): { inBytes: number; outBytes: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(procRoot, 'net', 'dev'), 'utf8');
  } catch {
    return undefined;
  }
  const r = parseNetDev(text);
  warnings.push(...r.warnings);
  return r.data ? nodeNetCounters(r.data) : undefined;
}

/**
 * A standalone node's address as PVE gives it in /cluster/status: resolved from the node name via
 * /etc/hosts (NANNYAGENT_HOSTS_FILE), since a standalone .members file has no nodelist.
 */
export async function readLocalIp(hostsFile: string, node: string): Promise<string | undefined> {
  const text = await tryRead(hostsFile);
  return text === undefined ? undefined : ipFromHostsFile(text, node);
}

/**
 * The /proc reader of heartbeats and change reports, built for running every minute for weeks:
 * synchronous reads (/proc is served by the kernel and never blocks like FUSE; a sync read of these
 * small files costs microseconds, an fs.promises read four thread-pool round trips), and
 * `cpuinfo` and `version` read once — they change with a reboot, which restarts the agent too.
 */
export function createLightProcReader(procRoot: string): (warnings: string[]) => {
  snap: ProcSnapshot;
  cpu?: CpuTimes;
} {
  const read = (f: string): string | undefined => {
    try {
      return readFileSync(join(procRoot, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  let fixed: Pick<ProcSnapshot, 'cpuinfo' | 'kernel'> | undefined;
  return (warnings) => {
    const take = <T>(r: { data: T | undefined; warnings: string[] } | undefined): T | undefined => {
      if (!r) return undefined;
      warnings.push(...r.warnings);
      return r.data;
    };
    if (!fixed) {
      fixed = {};
      const cpuinfo = read('cpuinfo');
      const c = take(cpuinfo === undefined ? undefined : parseCpuinfo(cpuinfo));
      if (c) fixed.cpuinfo = c;
      const version = read('version');
      const v = take(version === undefined ? undefined : parseProcVersion(version));
      if (v) fixed.kernel = v;
    }
    const snap: ProcSnapshot = { ...fixed };
    const meminfo = read('meminfo');
    const m = take(meminfo === undefined ? undefined : parseMeminfo(meminfo));
    if (m) snap.meminfo = m;
    const loadavg = read('loadavg');
    const l = take(loadavg === undefined ? undefined : parseLoadavg(loadavg));
    if (l) snap.loadavg = l;
    const uptime = read('uptime');
    const u = take(uptime === undefined ? undefined : parseUptime(uptime));
    if (u) snap.uptimeSeconds = u.uptimeSeconds;
    const stat = read('stat');
    const cpu = stat === undefined ? undefined : parseProcStat(stat).data?.cpu;
    return cpu ? { snap, cpu } : { snap };
  };
}
