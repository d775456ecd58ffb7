/**
 * /proc parsers (pure: the caller reads the files). Formats are the Linux kernel's, stable for
 * decades; PVE's own node status (PVE::ProcFSTools) reads the same files.
 */
import type { NodeStatus, Parsed } from './types.ts';
import { show } from './scalars.ts';

/** Jiffies of one `cpu` line of /proc/stat. `guest`/`guestNice` are already inside user/nice. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  guest: number;
  guestNice: number;
}

export interface ProcStat {
  /** the aggregate `cpu` line */
  cpu: CpuTimes;
  /** `cpu0`, `cpu1`, … */
  cpus: CpuTimes[];
  /** `btime`: boot time, epoch seconds */
  bootTime?: number;
}

const CPU_FIELDS = [
  'user',
  'nice',
  'system',
  'idle',
  'iowait',
  'irq',
  'softirq',
  'steal',
  'guest',
  'guestNice',
] as const;

function cpuLine(fields: string[]): CpuTimes | undefined {
  const nums = fields.map((f) => (/^\d+$/.test(f) ? Number(f) : NaN));
  // Kernels before 2.6.11 had fewer columns; missing trailing ones are 0 by definition there.
  if (nums.length < 4 || nums.some((n) => Number.isNaN(n))) return undefined;
  const t = {} as CpuTimes;
  CPU_FIELDS.forEach((k, i) => (t[k] = nums[i] ?? 0));
  return t;
}

export function parseProcStat(text: string): Parsed<ProcStat | undefined> {
  const warnings: string[] = [];
  let cpu: CpuTimes | undefined;
  const cpus: CpuTimes[] = [];
  let bootTime: number | undefined;
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    const name = parts[0];
    if (name === 'cpu' || (name && /^cpu\d+$/.test(name))) {
      const t = cpuLine(parts.slice(1));
      if (!t) warnings.push(`/proc/stat: cannot read ${show(line)}`);
      else if (name === 'cpu') cpu = t;
      else cpus.push(t);
    } else if (name === 'btime') {
      const n = Number(parts[1]);
      if (Number.isSafeInteger(n)) bootTime = n;
      else warnings.push(`/proc/stat: bad btime ${show(line)}`);
    }
  }
  if (!cpu) {
    warnings.push('/proc/stat: no aggregate cpu line');
    return { data: undefined, warnings };
  }
  const data: ProcStat = { cpu, cpus };
  if (bootTime !== undefined) data.bootTime = bootTime;
  return { data, warnings };
}

/**
 * CPU busy and iowait shares between two /proc/stat samples, like pvestatd's: total = user + nice
 * + system + idle + iowait + irq + softirq + steal (guest time is already inside user/nice);
 * busy = total − idle − iowait. `undefined` when no tick passed or the counters went backwards
 * (a reboot between the samples): there is no honest value then.
 */
export function cpuUsageBetween(
  prev: CpuTimes,
  next: CpuTimes,
): { busyRatio: number; ioWaitRatio: number } | undefined {
  const total = (t: CpuTimes) => t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal;
  const dTotal = total(next) - total(prev);
  const dIdle = next.idle - prev.idle;
  const dWait = next.iowait - prev.iowait;
  if (!(dTotal > 0) || dIdle < 0 || dWait < 0) return undefined;
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  return { busyRatio: clamp((dTotal - dIdle - dWait) / dTotal), ioWaitRatio: clamp(dWait / dTotal) };
}

export interface Meminfo {
  totalBytes: number;
  freeBytes: number;
  /** MemAvailable (kernel ≥ 3.14) */
  availableBytes?: number;
  buffersBytes?: number;
  cachedBytes?: number;
  swapTotalBytes?: number;
  swapFreeBytes?: number;
  /** used = total − available (or − free − buffers − cached on kernels without MemAvailable) */
  usedBytes: number;
  /** every line, in bytes where the unit is kB */
  raw: Record<string, number>;
}

export function parseMeminfo(text: string): Parsed<Meminfo | undefined> {
  const warnings: string[] = [];
  const raw: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!m) {
      warnings.push(`/proc/meminfo: cannot read ${show(line)}`);
      continue;
    }
    raw[m[1]!] = Number(m[2]) * (m[3] ? 1024 : 1);
  }
  const total = raw.MemTotal;
  const free = raw.MemFree;
  if (total === undefined || free === undefined) {
    warnings.push('/proc/meminfo: MemTotal or MemFree missing');
    return { data: undefined, warnings };
  }
  const available = raw.MemAvailable;
  const used =
    available !== undefined ? total - available : total - free - (raw.Buffers ?? 0) - (raw.Cached ?? 0);
  const data: Meminfo = { totalBytes: total, freeBytes: free, usedBytes: Math.max(0, used), raw };
  if (available !== undefined) data.availableBytes = available;
  if (raw.Buffers !== undefined) data.buffersBytes = raw.Buffers;
  if (raw.Cached !== undefined) data.cachedBytes = raw.Cached;
  if (raw.SwapTotal !== undefined) data.swapTotalBytes = raw.SwapTotal;
  if (raw.SwapFree !== undefined) data.swapFreeBytes = raw.SwapFree;
  return { data, warnings };
}

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
  running?: number;
  total?: number;
  lastPid?: number;
}

/** `/proc/loadavg`: `0.45 0.38 0.35 2/345 67890`. */
export function parseLoadavg(text: string): Parsed<Loadavg | undefined> {
  const m = /^\s*(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)(?:\s+(\d+)\/(\d+)(?:\s+(\d+))?)?/.exec(
    text,
  );
  if (!m) return { data: undefined, warnings: [`/proc/loadavg: cannot read ${show(text)}`] };
  const data: Loadavg = { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]) };
  if (m[4] !== undefined) data.running = Number(m[4]);
  if (m[5] !== undefined) data.total = Number(m[5]);
  if (m[6] !== undefined) data.lastPid = Number(m[6]);
  return { data, warnings: [] };
}

/** `/proc/uptime`: `1234567.89 2345678.90` → whole seconds since boot (like the API's `uptime`). */
export function parseUptime(
  text: string,
): Parsed<{ uptimeSeconds: number; idleSeconds?: number } | undefined> {
  const m = /^\s*(\d+(?:\.\d+)?)(?:\s+(\d+(?:\.\d+)?))?/.exec(text);
  if (!m) return { data: undefined, warnings: [`/proc/uptime: cannot read ${show(text)}`] };
  const data: { uptimeSeconds: number; idleSeconds?: number } = { uptimeSeconds: Math.floor(Number(m[1])) };
  if (m[2] !== undefined) data.idleSeconds = Number(m[2]);
  return { data, warnings: [] };
}

export interface Cpuinfo {
  model?: string;
  /** logical CPUs (`processor` entries) */
  cpus: number;
  /** distinct `physical id`s (1 when the kernel gives none, e.g. in some VMs) */
  sockets: number;
  /** physical cores: sum of `cpu cores` over the sockets, as PVE::ProcFSTools::read_cpuinfo counts */
  cores: number;
  mhz?: string;
  flags?: string;
  /** "1" when the CPU has vmx/svm, as the API's cpuinfo.hvm */
  hvm: string;
}

/** `/proc/cpuinfo` (x86 layout; other architectures give at least `cpus`). */
export function parseCpuinfo(text: string): Parsed<Cpuinfo | undefined> {
  const warnings: string[] = [];
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  if (blocks.length === 0) return { data: undefined, warnings: ['/proc/cpuinfo: no processor entries'] };
  const coresBySocket = new Map<string, number>();
  let model: string | undefined;
  let mhz: string | undefined;
  let flags: string | undefined;
  for (const b of blocks) {
    const get = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(b)?.[1]?.trim();
    model ??= get('model name');
    mhz ??= get('cpu MHz');
    flags ??= get('flags');
    const phys = get('physical id') ?? '0';
    const cores = Number(get('cpu cores') ?? '1');
    if (!Number.isFinite(cores)) warnings.push(`/proc/cpuinfo: bad cpu cores in socket ${phys}`);
    else coresBySocket.set(phys, cores);
  }
  const data: Cpuinfo = {
    cpus: blocks.length,
    sockets: Math.max(1, coresBySocket.size),
    cores: [...coresBySocket.values()].reduce((a, c) => a + c, 0) || blocks.length,
    hvm: flags && /\b(vmx|svm)\b/.test(flags) ? '1' : '0',
  };
  if (model !== undefined) data.model = model;
  if (mhz !== undefined) data.mhz = mhz;
  if (flags !== undefined) data.flags = flags;
  return { data, warnings };
}

/**
 * `/proc/version` → the API's `kversion` (`uname -s -r -v`):
 * `Linux version 6.8.12-4-pve (build@proxmox) (gcc …) #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)`
 * → `Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)`.
 */
export function parseProcVersion(
  text: string,
): Parsed<{ sysname: string; release: string; version: string; kversion: string } | undefined> {
  const t = text.trim();
  const m = /^(\S+) version (\S+) .*? (#\d+ .*)$/.exec(t);
  if (!m) return { data: undefined, warnings: [`/proc/version: cannot read ${show(text)}`] };
  const [, sysname, release, version] = m as unknown as [string, string, string, string];
  return { data: { sysname, release, version, kversion: `${sysname} ${release} ${version}` }, warnings: [] };
}

/** What the files source knows about the node, as a {@link NodeStatus} (the shape of /nodes/{node}/status). */
export interface ProcSnapshot {
  meminfo?: Meminfo;
  loadavg?: Loadavg;
  uptimeSeconds?: number;
  cpuinfo?: Cpuinfo;
  kernel?: { sysname: string; release: string; version: string; kversion: string };
  /** "pve-manager/<version>/<repoid>" */
  pveversion?: string;
  /** statvfs of / (the agent does the syscall) */
  rootfs?: { total: number; avail: number; used: number; free: number };
  /** busy and iowait fractions from two /proc/stat samples */
  cpu?: { busyRatio: number; ioWaitRatio: number };
}

export function nodeStatusFromProc(s: ProcSnapshot): NodeStatus {
  const st: NodeStatus = {};
  if (s.uptimeSeconds !== undefined) st.uptime = s.uptimeSeconds;
  if (s.loadavg) st.loadavg = [s.loadavg.load1, s.loadavg.load5, s.loadavg.load15].map((n) => n.toFixed(2));
  if (s.kernel) {
    st.kversion = s.kernel.kversion;
    st['current-kernel'] = {
      sysname: s.kernel.sysname,
      release: s.kernel.release,
      version: s.kernel.version,
    };
  }
  if (s.cpuinfo) {
    const ci: NonNullable<NodeStatus['cpuinfo']> = {
      cpus: s.cpuinfo.cpus,
      sockets: s.cpuinfo.sockets,
      cores: s.cpuinfo.cores,
      hvm: s.cpuinfo.hvm,
    };
    if (s.cpuinfo.model !== undefined) ci.model = s.cpuinfo.model;
    if (s.cpuinfo.mhz !== undefined) ci.mhz = s.cpuinfo.mhz;
    st.cpuinfo = ci;
  }
  if (s.cpu) {
    st.cpu = s.cpu.busyRatio;
    st.wait = s.cpu.ioWaitRatio;
  }
  if (s.meminfo) {
    const m = s.meminfo;
    // As PVE 9.x reports it: used = total − MemAvailable, free = MemFree (PVE 7 had free = total − used).
    const mem: NonNullable<NodeStatus['memory']> = {
      total: m.totalBytes,
      used: m.usedBytes,
      free: m.freeBytes,
    };
    if (m.availableBytes !== undefined) mem.available = m.availableBytes;
    st.memory = mem;
    if (m.swapTotalBytes !== undefined && m.swapFreeBytes !== undefined) {
      st.swap = { total: m.swapTotalBytes, free: m.swapFreeBytes, used: m.swapTotalBytes - m.swapFreeBytes };
    }
  }
  if (s.rootfs) st.rootfs = { ...s.rootfs };
  if (s.pveversion !== undefined) st.pveversion = s.pveversion;
  return st;
}
