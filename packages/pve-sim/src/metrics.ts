// Derived, time-dependent figures of nodes and guests. Pure functions of (model, now): in frozen mode
// `now` is constant, so every rendering returns identical values; in live mode counters advance.
import type { GuestState, NodeState } from './model.ts';
import { hashSeed } from './rng.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A slow deterministic wobble in [1-amp, 1+amp] so live figures move but stay plausible. */
export function wobble(key: string, now: number, amp = 0.2): number {
  const phase = (hashSeed(key) % 1000) / 159.2;
  return 1 + amp * Math.sin(now / 37 + phase) * Math.cos(now / 113 + phase / 2);
}

export function nodeUptime(n: NodeState, now: number): number {
  return Math.max(0, Math.floor(now - n.bootTime));
}

export interface NodeFigures {
  uptime: number;
  cpu: number;
  wait: number;
  memUsed: number;
  memFree: number;
  memAvailable: number;
  swapUsed: number;
  load: [number, number, number];
  netin: number;
  netout: number;
}

export function nodeFigures(n: NodeState, now: number): NodeFigures {
  const w = wobble(`node:${n.name}`, now);
  const uptime = nodeUptime(n, now);
  const cpu = Math.min(1, n.cpuUsage * w);
  // whole 4 KiB pages, so /proc/meminfo (kB) and the API (bytes) describe exactly the same numbers
  const page = (b: number): number => Math.floor(b / 4096) * 4096;
  const memUsed = page(Math.min(n.memTotal - 64 * MiB, n.memUsed * (0.97 + 0.03 * w)));
  const memFree = page((n.memTotal - memUsed) * 0.35);
  return {
    uptime,
    cpu,
    wait: n.ioWait * w,
    memUsed,
    memFree,
    memAvailable: n.memTotal - memUsed,
    swapUsed: n.swapUsed,
    load: [n.load * w, n.load * (0.95 + 0.05 * w), n.load * 0.97],
    netin: uptime * 180_000 + Math.floor(now % 1000),
    netout: uptime * 95_000 + Math.floor(now % 700),
  };
}

/** Size strings of disks/mount points: "32G", "512M", "4M", "1T"; a bare number is GiB (PVE disk sizes). */
export function sizeToBytes(size: string | undefined): number {
  if (!size) return 0;
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(size);
  if (!m) return 0;
  const mult: Record<string, number> = { '': GiB, K: 1024, M: MiB, G: GiB, T: 1024 * GiB };
  return Math.round(Number(m[1]) * (mult[m[2]!.toUpperCase()] ?? GiB));
}

function sizeOpt(value: string | undefined): string | undefined {
  return value
    ?.split(',')
    .find((p) => p.startsWith('size='))
    ?.slice(5);
}

/** The effective config (main section) memory in MiB: QEMU `memory` may be "current=4096" (PVE 8.1+). */
export function guestMemoryMiB(g: GuestState): number {
  const raw = g.config.memory;
  if (raw === undefined) return g.kind === 'qemu' ? 512 : 512;
  const m = /(?:^|current=)(\d+)/.exec(raw);
  return m ? Number(m[1]) : 512;
}

export function guestMaxCpu(g: GuestState, hostCpus: number): number {
  if (g.kind === 'lxc') return g.config.cores ? Number(g.config.cores) : hostCpus;
  if (g.config.vcpus) return Number(g.config.vcpus);
  return Number(g.config.sockets ?? 1) * Number(g.config.cores ?? 1);
}

export function guestMaxDisk(g: GuestState): number {
  if (g.kind === 'lxc') return sizeToBytes(sizeOpt(g.config.rootfs));
  // QEMU: the boot disk (first disk of boot order, else the first scsi/virtio/sata/ide disk)
  const order = /order=([^,]+)/.exec(g.config.boot ?? '')?.[1]?.split(';') ?? [];
  const disks = [...order, 'scsi0', 'virtio0', 'sata0', 'ide0'];
  for (const d of disks) {
    const v = g.config[d];
    if (v && !v.includes('media=cdrom')) return sizeToBytes(sizeOpt(v));
  }
  return 0;
}

export interface GuestFigures {
  uptime: number;
  cpu: number;
  maxcpu: number;
  mem: number;
  maxmem: number;
  disk: number;
  maxdisk: number;
  maxswap: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  memhost: number;
}

export function guestFigures(g: GuestState, hostCpus: number, now: number): GuestFigures {
  const running = g.status === 'running';
  const w = wobble(`guest:${g.vmid}`, now);
  const uptime = running ? Math.max(0, Math.floor(now - g.startedAt)) : 0;
  const maxmem = guestMemoryMiB(g) * MiB;
  const maxdisk = guestMaxDisk(g);
  const mem = running ? Math.round(maxmem * Math.min(0.98, g.memFraction * (0.95 + 0.05 * w))) : 0;
  return {
    uptime,
    cpu: running ? Math.min(1, g.cpuUsage * w) : 0,
    maxcpu: guestMaxCpu(g, hostCpus),
    mem,
    maxmem,
    disk: g.kind === 'lxc' && running ? Math.round(maxdisk * g.diskFraction) : 0,
    maxdisk,
    maxswap: g.kind === 'lxc' ? Number(g.config.swap ?? 512) * MiB : 0,
    netin: uptime * 4_000 + (running ? Math.floor(now % 97) : 0),
    netout: uptime * 2_500 + (running ? Math.floor(now % 89) : 0),
    diskread: uptime * 1_200,
    diskwrite: uptime * 3_100,
    memhost: running ? Math.round(mem * 1.05) : 0,
  };
}
