// A /proc-like folder per node: stat, meminfo, loadavg, uptime (+ version, sys/kernel/osrelease).
// Counters are integrals over the time since boot, so in live mode they only grow between reads
// and the CPU share between two reads equals the node's modelled usage.
import type { NodeState } from './model.ts';
import { nodeFigures } from './metrics.ts';

const HZ = 100;

export function renderProcStat(n: NodeState, now: number): string {
  const elapsed = Math.max(0, now - n.bootTime);
  const perCpu = (share: number): number => Math.floor(elapsed * HZ * share);
  const line = (label: string, mult: number): string => {
    const user = perCpu(n.cpuUsage * 0.7) * mult;
    const system = perCpu(n.cpuUsage * 0.25) * mult;
    const nice = perCpu(n.cpuUsage * 0.01) * mult;
    const irq = 0;
    const softirq = perCpu(n.cpuUsage * 0.04) * mult;
    const iowait = perCpu(n.ioWait) * mult;
    const idle = Math.max(0, Math.floor(elapsed * HZ) * mult - user - system - nice - softirq - iowait);
    return `${label} ${user} ${nice} ${system} ${idle} ${iowait} ${irq} ${softirq} 0 0 0`;
  };
  const lines = [line('cpu ', n.cpus)];
  for (let i = 0; i < n.cpus; i++) lines.push(line(`cpu${i}`, 1));
  const ctxt = Math.floor(elapsed * 2400 * n.cpus);
  lines.push(
    `intr ${Math.floor(elapsed * 1800 * n.cpus)} 0 9 0 0 0 0 0 0 0 1 0 0 0 0 0 0`,
    `ctxt ${ctxt}`,
    `btime ${Math.floor(n.bootTime)}`,
    `processes ${Math.floor(elapsed * 3) + 1}`,
    `procs_running ${Math.max(1, Math.round(n.load))}`,
    'procs_blocked 0',
    `softirq ${Math.floor(elapsed * 900 * n.cpus)} 0 ${Math.floor(elapsed * 300)} 1 ${Math.floor(elapsed * 50)} 0 0 1 ${Math.floor(elapsed * 200)} 0 ${Math.floor(elapsed * 350)}`,
  );
  return lines.join('\n') + '\n';
}

export function renderMeminfo(n: NodeState, now: number): string {
  const f = nodeFigures(n, now);
  const kb = (b: number): number => Math.floor(b / 1024);
  const rows: [string, number][] = [
    ['MemTotal', kb(n.memTotal)],
    ['MemFree', kb(f.memFree)],
    ['MemAvailable', kb(f.memAvailable)],
    ['Buffers', kb(f.memAvailable * 0.02)],
    ['Cached', kb(f.memAvailable * 0.5)],
    ['SwapCached', 0],
    ['Active', kb(f.memUsed * 0.6)],
    ['Inactive', kb(f.memAvailable * 0.4)],
    ['SwapTotal', kb(n.swapTotal)],
    ['SwapFree', kb(n.swapTotal - f.swapUsed)],
    ['Dirty', 132],
    ['Shmem', kb(f.memUsed * 0.01)],
    ['Slab', kb(f.memUsed * 0.05)],
    ['HugePages_Total', 0],
    ['Hugepagesize', 2048],
  ];
  return (
    rows
      .map(([k, v]) =>
        k.startsWith('HugePages_')
          ? `${`${k}:`.padEnd(16)}${String(v).padStart(8)}`
          : `${`${k}:`.padEnd(16)}${String(v).padStart(8)} kB`,
      )
      .join('\n') + '\n'
  );
}

export function renderLoadavg(n: NodeState, now: number): string {
  const f = nodeFigures(n, now);
  const running = Math.max(1, Math.round(f.load[0]));
  return `${f.load.map((l) => l.toFixed(2)).join(' ')} ${running}/${400 + n.cpus * 20} ${100000 + (Math.floor(now - n.bootTime) % 3000000)}\n`;
}

export function renderUptime(n: NodeState, now: number): string {
  const up = Math.max(0, now - n.bootTime);
  const idle = up * n.cpus * (1 - n.cpuUsage - n.ioWait);
  return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
}

export function renderProcVersion(n: NodeState): string {
  return `Linux version ${n.kernel} (build@proxmox) (gcc (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44) ${n.kernelBuild}\n`;
}

/** /proc/cpuinfo (x86 layout): one block per logical CPU with socket and core ids. */
export function renderCpuinfo(n: NodeState): string {
  const threads = Math.max(1, Math.round(n.cpus / (n.sockets * n.cores)));
  const blocks: string[] = [];
  for (let i = 0; i < n.cpus; i++) {
    const socket = Math.floor(i / (n.cores * threads)) % n.sockets;
    blocks.push(
      [
        `processor\t: ${i}`,
        `vendor_id\t: ${n.cpuModel.startsWith('AMD') ? 'AuthenticAMD' : 'GenuineIntel'}`,
        `model name\t: ${n.cpuModel}`,
        `cpu MHz\t\t: ${n.mhz}`,
        `physical id\t: ${socket}`,
        `siblings\t: ${n.cores * threads}`,
        `core id\t\t: ${i % n.cores}`,
        `cpu cores\t: ${n.cores}`,
        `flags\t\t: ${CPU_FLAGS}`,
      ].join('\n'),
    );
  }
  return blocks.join('\n\n') + '\n\n';
}

export const CPU_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc pni vmx ssse3 cx16 sse4_1 sse4_2 x2apic popcnt aes xsave avx hypervisor';

/**
 * `/proc/net/dev` in the kernel's layout (`%6s:%8llu %7llu …`): the node's traffic on its NIC `eno1`,
 * the same bytes again on the bridge `vmbr0` above it and part of them on a guest's `tap`, plus `lo`,
 * so a reader that sums every interface counts too much.
 */
export function renderNetDev(n: NodeState, now: number): string {
  const f = nodeFigures(n, now);
  const row = (name: string, rx: number, tx: number): string => {
    const cols = [rx, Math.floor(rx / 1400), 0, 0, 0, 0, 0, 0, tx, Math.floor(tx / 1400), 0, 0, 0, 0, 0, 0];
    const widths = [8, 7, 4, 4, 4, 5, 10, 9, 8, 7, 4, 4, 4, 5, 7, 10];
    return `${name.padStart(6)}:${cols.map((c, i) => String(Math.floor(c)).padStart(widths[i]!)).join(' ')}`;
  };
  return (
    [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      row('lo', f.uptime * 2_000, f.uptime * 2_000),
      row('eno1', f.netin, f.netout),
      row('vmbr0', f.netin * 0.9, f.netout * 0.9),
      row('tap100i0', f.netout * 0.5, f.netin * 0.5),
    ].join('\n') + '\n'
  );
}

/** relative path → content of the node's /proc folder */
export function renderProc(n: NodeState, now: number): Record<string, string> {
  return {
    stat: renderProcStat(n, now),
    meminfo: renderMeminfo(n, now),
    loadavg: renderLoadavg(n, now),
    uptime: renderUptime(n, now),
    version: renderProcVersion(n),
    cpuinfo: renderCpuinfo(n),
    'sys/kernel/osrelease': `${n.kernel}\n`,
    'net/dev': renderNetDev(n, now),
  };
}
